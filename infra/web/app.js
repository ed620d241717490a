// The browser demo: a client of the token flow in CONTRACT.md. Plain JavaScript, no framework, no build step.
//
// Where the tokens live: the access token only in `accessToken` below, this module's memory (never localStorage,
// sessionStorage, IndexedDB or a cookie, so an injected script can't lift it from storage and it dies with the tab).
// The refresh token only in the API's HttpOnly cookie (Path=/auth, SameSite=Strict): JavaScript can't read it, and
// the browser sends it with POST /auth/refresh and /auth/logout because this page and the API share an origin.
//
// The page also opens the emailed links (/reset-password?token=..., /verify-email?token=...): it reads the token,
// takes it out of the address bar and the history at once, and spends it with one POST.

const REFRESH_LOCK = "serverless-jwt-auth-refresh";

// A clear message for every error code of the contract (and for the network failing).
const MESSAGES = {
  validation_error: "Please check what you entered.",
  invalid_request: "Your session is missing or unreadable (signed out in another tab?). Please sign in again.",
  email_taken: "An account with this email already exists. Sign in instead.",
  invalid_credentials: "Wrong email or password.",
  wrong_current_password: "Your current password is not right.",
  email_not_verified: "Your email address is not verified yet: open the link we emailed you, or ask for a new one.",
  invalid_link: "This link can't be used: it is incomplete, expired or already used. Ask for a new one.",
  too_many_attempts: "Too many failed sign-ins for this account.",
  missing_token: "You are not signed in. Please sign in.",
  invalid_token: "Your session is not valid. Please sign in again.",
  token_expired: "Your session has expired. Please sign in again.",
  token_revoked: "Your session has ended (signed out here or elsewhere). Please sign in again.",
  insufficient_role: "Your account may not do this: it is for admins only.",
  not_found: "Not found.",
  rate_limited: "Too many requests right now. Wait a moment and try again.",
  service_unavailable: "The service is unavailable for a moment; nothing was changed. Try again shortly.",
  internal_error: "Something went wrong on our side.",
  network_error: "The API could not be reached. Check your connection and try again.",
};

class ApiError extends Error {
  constructor(status, code, message, details = [], retryAfter = null) {
    super(message || MESSAGES[code] || code);
    Object.assign(this, { status, code, details, retryAfter });
  }
}

// Thrown when the session is over and the login screen is already back: callers have nothing left to show.
class SessionEnded extends Error {}

// The 401s that say the access token (the session) is no good; any other 401 (a wrong current password) is an answer.
const SESSION_ERRORS = new Set(["missing_token", "invalid_token", "token_expired", "token_revoked"]);
const isSessionError = (error) => error.status === 401 && SESSION_ERRORS.has(error.code);

let accessToken = null; // the only place the access token is kept
let refreshing = null; // the refresh in flight in this tab, shared by every caller that needs it
let nextCursor = null; // the admin users list's next page
let resetToken = null; // the reset link's token, from the address bar (which no longer shows it)

const $ = (id) => document.getElementById(id);

// Elements built from data with textContent only: nothing the API returns is ever parsed as HTML.
const element = (tag, properties = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
};
const cell = (content) => (content instanceof Node ? content : element("td", {}, content));
const row = (...cells) => element("tr", {}, ...cells.map(cell));
const localTime = (iso) => new Date(iso).toLocaleString();

// ---- HTTP ---------------------------------------------------------------------------------------------------------

// One request; the answer's JSON, or an ApiError carrying the contract's error code.
async function send(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    const json = body === undefined ? undefined : JSON.stringify(body);
    response = await fetch(path, { method, headers, body: json, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network_error");
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.ok) return data;
  const code = data?.error ?? (response.status >= 500 ? "internal_error" : "invalid_request");
  throw new ApiError(response.status, code, data?.message, data?.details, response.headers.get("Retry-After"));
}

// Every call that needs the access token goes through here. On 401 token_expired it refreshes (once, shared: see
// refreshSession) and retries the call once; when the refresh fails, or the token is refused for any other reason
// (revoked, invalid), the session is over and the login screen comes back with the reason.
async function api(method, path, body) {
  const token = accessToken;
  try {
    return await send(method, path, { body, token });
  } catch (error) {
    if (!isSessionError(error)) throw error;
    if (error.code !== "token_expired") endSession(error);
    try {
      // A call that went out with an old token while another call refreshed just retries with the new one.
      if (accessToken === token) await refreshSession();
    } catch (refreshError) {
      endSession(refreshError);
    }
    try {
      return await send(method, path, { body, token: accessToken });
    } catch (retryError) {
      if (isSessionError(retryError)) endSession(retryError);
      throw retryError;
    }
  }
}

// One refresh at a time. In this tab, concurrent callers share the promise in `refreshing`. Across tabs, the Web
// Locks API makes the tabs of this origin take turns: the second tab then sends the cookie the first one has just
// rotated in, never the rotated-out one (which, past the API's grace window, counts as reuse and revokes the whole
// session). Why a lock rather than a BroadcastChannel that hands the first tab's new access token to the others:
// the lock needs no protocol of our own (who refreshes, who waits, what if that tab closes half-way: the browser
// releases a closed tab's lock), each tab keeps its own token in its own memory, and no token travels between tabs.
// It costs one extra refresh per waiting tab, which the API is built for.
function refreshSession() {
  refreshing ??= withRefreshLock(async () => {
    const pair = await send("POST", "/auth/refresh");
    setToken(pair.access_token);
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function withRefreshLock(task) {
  return navigator.locks ? navigator.locks.request(REFRESH_LOCK, task) : task(); // locks need a secure context
}

function setToken(token) {
  accessToken = token;
  renderCountdown();
}

// ---- Screens ------------------------------------------------------------------------------------------------------

function show(view) {
  for (const name of ["loading", "login", "dashboard", "forgot", "reset", "verify"]) {
    $(`${name}-view`).hidden = name !== view;
  }
}

function showMessage(text, kind = "error", items = []) {
  const box = $("message");
  box.replaceChildren(text);
  if (items.length) {
    const list = document.createElement("ul");
    for (const item of items) list.append(Object.assign(document.createElement("li"), { textContent: item }));
    box.append(list);
  }
  box.className = kind;
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
}

function showError(error) {
  let text = MESSAGES[error.code] ?? error.message;
  if (error.code === "too_many_attempts" && error.retryAfter) text += ` Try again in ${error.retryAfter} s.`;
  if (error.code === "internal_error" && error.message) text += ` ${error.message}`; // carries the request id
  const details = (error.details ?? []).map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
  showMessage(text, "error", details);
}

function endSession(error, kind = "error") {
  setToken(null);
  show("login");
  if (typeof error === "string") showMessage(error, kind);
  else showError(error);
  throw new SessionEnded();
}

// The access token's remaining lifetime, decoded from its payload for display only (the API alone checks tokens).
function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "="))).exp;
  } catch {
    return null;
  }
}

function renderCountdown() {
  const exp = accessToken && tokenExpiry(accessToken);
  const left = exp ? Math.ceil(exp - Date.now() / 1000) : null;
  const countdown = $("token-countdown");
  countdown.textContent = !accessToken
    ? "none"
    : left === null
      ? "held in memory"
      : left > 0
        ? `expires in ${left} s`
        : "expired; renewed on the next call";
  countdown.className = left !== null && left <= 0 ? "expired" : "";
}

async function loadDashboard() {
  const { user, message } = await api("GET", "/me");
  $("welcome").textContent = message;
  $("profile-email").textContent = user.email;
  $("profile-role").textContent = user.role;
  $("profile-status").textContent = user.status;
  $("profile-verified").textContent = user.email_verified ? "yes" : "no";
  $("profile-id").textContent = user.id;
  $("profile-created").textContent = localTime(user.created_at);
  $("loaded-at").textContent = new Date().toLocaleTimeString();
  $("admin-panel").hidden = user.role !== "admin";
  show("dashboard");
}

async function loadUsers(more) {
  const query = new URLSearchParams({ limit: "10" });
  if (more && nextCursor) query.set("cursor", nextCursor);
  const { users, next_cursor } = await api("GET", `/admin/users?${query}`);
  const rows = users.map((user) => row(user.email, user.role, user.status, localTime(user.created_at)));
  if (more) $("users-body").append(...rows);
  else $("users-body").replaceChildren(...rows);
  nextCursor = next_cursor;
  $("more-users").hidden = !next_cursor;
}

async function loadSessions() {
  const { sessions } = await api("GET", "/me/sessions");
  const rows = sessions.map((session) => {
    const end = element("button", { type: "button", className: "secondary", textContent: "Sign out this device" });
    Object.assign(end.dataset, { session: session.id, current: session.current });
    const marker = session.current ? [element("span", { className: "badge", textContent: "this device" })] : [];
    const device = element("td", { className: "ua", textContent: session.user_agent });
    const when = [localTime(session.created_at), localTime(session.last_used_at)];
    return row(...when, device, session.ip, element("td", {}, ...marker, end));
  });
  $("sessions-body").replaceChildren(...rows);
  $("sessions-table").hidden = false;
}

// DELETE /me/sessions/{id}: that session's refresh and access tokens end; ending this tab's own signs it out here.
async function endOneSession(button) {
  await api("DELETE", `/me/sessions/${encodeURIComponent(button.dataset.session)}`);
  if (button.dataset.current === "true") endSession("You are signed out on this device.", "info");
  await loadSessions();
  showMessage("That device is signed out.", "info");
}

async function changePassword(form) {
  const body = { current_password: form.current_password.value, new_password: form.new_password.value };
  try {
    await api("POST", "/me/password", body);
  } catch (error) {
    if (error.code === "invalid_credentials") throw new ApiError(error.status, "wrong_current_password");
    throw error;
  }
  form.reset();
  showMessage("Your password has been changed. Your other sessions are signed out; this one continues.", "info");
  if (!$("sessions-table").hidden) await loadSessions();
}

async function signIn(email, password) {
  const pair = await send("POST", "/auth/login", { body: { email, password } });
  setToken(pair.access_token);
  await loadDashboard();
}

async function logout() {
  await send("POST", "/auth/logout", { token: accessToken }); // the cookie names the session; the bearer is denylisted
  endSession("You are signed out.", "info");
}

async function logoutAll() {
  await api("POST", "/auth/logout-all");
  endSession("You are signed out of every session, on every device.", "info");
}

// Runs a UI action: one at a time per button, errors shown as messages.
async function run(button, action) {
  button.disabled = true;
  clearMessage();
  try {
    await action();
  } catch (error) {
    if (!(error instanceof SessionEnded)) showError(error);
  } finally {
    button.disabled = false;
  }
}

function on(id, event, action) {
  $(id).addEventListener(event, (domEvent) => {
    domEvent.preventDefault();
    const button = event === "submit" ? domEvent.target.querySelector("button[type=submit]") : $(id);
    return run(button, () => action(domEvent.target));
  });
}

// The emailed links' pages: the token leaves the address bar and the history before anything else happens.
function showVerify(email = "") {
  $("resend-email").value = email;
  show("verify");
}

async function verifyEmail(token) {
  showVerify();
  try {
    await send("POST", "/auth/verify-email", { body: { token } });
  } catch (error) {
    showError(error);
    return false;
  }
  history.replaceState(null, "", "/");
  showMessage("Your email address is verified.", "info");
  return true;
}

async function resetPassword(form) {
  try {
    await send("POST", "/auth/password/reset", { body: { token: resetToken, password: form.password.value } });
  } catch (error) {
    if (error.code === "invalid_link") show("forgot"); // a policy refusal keeps the link: the form stays
    throw error;
  }
  resetToken = null;
  form.reset();
  history.replaceState(null, "", "/");
  show("login");
  showMessage("Your password has been reset and every session has ended. Sign in with the new password.", "info");
}

on("login-form", "submit", async (form) => {
  try {
    await signIn(form.email.value, form.password.value);
  } catch (error) {
    if (error.code === "email_not_verified") showVerify(form.email.value);
    throw error;
  }
  form.reset();
});
on("forgot-link", "click", () => {
  $("forgot-email").value = $("login-email").value;
  show("forgot");
});
on("forgot-back", "click", backToStart);
on("resend-back", "click", backToStart);
on("forgot-form", "submit", async (form) => {
  const email = form.email.value;
  await send("POST", "/auth/password/forgot", { body: { email } });
  showMessage(`If an account exists for ${email}, we have emailed it a link to choose a new password.`, "info");
});
on("resend-form", "submit", async (form) => {
  const email = form.email.value;
  await send("POST", "/auth/verify-email/resend", { body: { email } });
  showMessage(`If ${email} has an account waiting for verification, we have emailed it a new link.`, "info");
});
on("reset-form", "submit", resetPassword);
on("password-form", "submit", changePassword);
on("load-sessions", "click", loadSessions);
$("sessions-body").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-session]");
  if (button) run(button, () => endOneSession(button));
});
on("register-form", "submit", async (form) => {
  const [email, password] = [form.email.value, form.password.value];
  await send("POST", "/auth/register", { body: { email, password } });
  await signIn(email, password);
  form.reset();
  showMessage("Your account is ready.", "info");
});
on("refresh-dashboard", "click", loadDashboard);
on("logout", "click", logout);
on("logout-all", "click", logoutAll);
on("load-users", "click", () => loadUsers(false));
on("more-users", "click", () => loadUsers(true));

// On load, an emailed link is handled first; then the cookie (if any) restores the session: a refresh gives this tab
// its own access token.
async function start() {
  setInterval(renderCountdown, 500);
  const path = location.pathname;
  const token = new URLSearchParams(location.search).get("token") ?? "";
  if (path === "/reset-password" || path === "/verify-email") history.replaceState(null, "", path);
  if (path === "/reset-password") {
    resetToken = token;
    show("reset");
    return;
  }
  if (path === "/verify-email" && !(await verifyEmail(token))) return;
  await restore();
}

async function restore() {
  try {
    await refreshSession();
    await loadDashboard();
  } catch (error) {
    if (error instanceof SessionEnded) return;
    show("login");
    if (error.status === 0 || error.status >= 500) showError(error); // not signed in is no error; an outage is
  }
}

function backToStart() {
  history.replaceState(null, "", "/");
  return restore();
}

start();
