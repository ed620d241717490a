"""The shared package of serverless-jwt-auth, shipped to every function as a Lambda layer."""
