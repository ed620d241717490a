import sys


def test_a(api, signed_in, capfd):
    signed_in()
    out = capfd.readouterr()
    print("OUT", len(out.out.splitlines()), "ERR", len(out.err.splitlines()), file=open("/tmp/explore/o.txt","a"))


def test_b(api, signed_in, capsys):
    signed_in()
    out = capsys.readouterr()
    print("OUT", len(out.out.splitlines()), "ERR", len(out.err.splitlines()), file=open("/tmp/explore/o.txt","a"))
