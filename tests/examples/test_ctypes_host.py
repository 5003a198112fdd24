#!/usr/bin/env python3
"""test_ctypes_host.py LIB - examples/ctypes_host.py answers through the
plugin entry point, agrees with the C library's own JSON, and refuses bad
input and a missing KB with the library's messages."""
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "examples"))
import ctypes_host  # noqa: E402

lib, msfaq_cli = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(name, cond):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", name)


bot = ctypes_host.Msfaq(lib)
for q in ["What is CAR T-cell therapy?", "should I stop my DMT",
          "hello", "how much does ocrelizumab cost"]:
    got = bot.ask(q)
    want = json.loads(subprocess.run([msfaq_cli, "ask", "--json", q],
                                     capture_output=True, check=True).stdout)
    for k in ("kind", "intent", "section", "answer", "follow_ups"):
        check(f"{q!r} {k}", got[k] == want[k])
    check(f"{q!r} confidence", abs(got["confidence"] - want["confidence"]) < 1e-3)
try:
    bot.ask("x" * 5000)
    check("over-long question refused", False)
except ValueError as e:
    check("over-long question refused", "limit is 4096" in str(e))
bot.close()
try:
    ctypes_host.Msfaq(lib, "/nonexistent-kb")
    check("missing KB refused", False)
except RuntimeError as e:
    check("missing KB refused", "cannot open" in str(e))
out = subprocess.run([sys.executable, os.path.join(here, "..", "..",
                      "examples", "ctypes_host.py"), "--lib", lib,
                      "What are DMTs?"], capture_output=True, text=True)
check("command line", out.returncode == 0 and json.loads(out.stdout)["section"]
      == "Supporting Treatments and Disease-Modifying Therapies")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
