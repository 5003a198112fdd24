#!/usr/bin/env python3
"""ctypes_host.py - embed libmsfaq.so in Python through its plugin entry.

This is how a Python chat framework (an Errbot or maubot plugin, say) would
use msfaq: load the shared library, ask msfaq_plugin_entry() for the
function table of the ABI this host was written for, and call through it.
Only the one entry symbol is looked up by name, as a dlopen() host does.

Usage: ctypes_host.py [--lib PATH] [--kb DIR] QUESTION...
Prints one JSON line per question (the same fields as `msfaq ask --json`).
"""
import argparse
import ctypes
import json
import sys

MSFAQ_PLUGIN_ABI = 1


class MsfaqError(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("line", ctypes.c_int),
                ("column", ctypes.c_int), ("offset", ctypes.c_long),
                ("file", ctypes.c_char * 128), ("text", ctypes.c_char * 256)]


KB = ctypes.c_void_p
RESULT = ctypes.c_void_p
_F = ctypes.CFUNCTYPE


class MsfaqPlugin(ctypes.Structure):
    """struct msfaq_plugin from msfaq.h; members are only ever appended."""
    _fields_ = [
        ("abi", ctypes.c_uint32), ("size", ctypes.c_uint32),
        ("version", ctypes.c_char_p),
        ("kb_open", _F(KB, ctypes.c_char_p, ctypes.c_uint,
                       ctypes.POINTER(MsfaqError))),
        ("kb_close", _F(None, KB)),
        ("ask", _F(ctypes.c_int, KB, ctypes.c_char_p, ctypes.c_uint,
                   ctypes.POINTER(RESULT), ctypes.POINTER(MsfaqError))),
        ("result_free", _F(None, RESULT)),
        ("result_kind", _F(ctypes.c_int, RESULT)),
        ("result_intent", _F(ctypes.c_char_p, RESULT)),
        ("result_confidence", _F(ctypes.c_double, RESULT)),
        ("result_answer", _F(ctypes.c_char_p, RESULT)),
        ("result_section", _F(ctypes.c_char_p, RESULT)),
        ("result_follow_up_count", _F(ctypes.c_size_t, RESULT)),
        ("result_follow_up", _F(ctypes.c_char_p, RESULT, ctypes.c_size_t)),
        ("result_json", _F(ctypes.c_char_p, RESULT)),
        ("result_explain", _F(ctypes.c_char_p, RESULT)),
        ("kind_name", _F(ctypes.c_char_p, ctypes.c_int)),
        ("strerror", _F(ctypes.c_char_p, ctypes.c_int)),
    ]


class Msfaq:
    """A knowledge base opened through the plugin table; close() frees it."""

    def __init__(self, lib="libmsfaq.so.1", kb_dir=None):
        self._lib = ctypes.CDLL(lib)
        entry = self._lib.msfaq_plugin_entry
        entry.restype = ctypes.POINTER(MsfaqPlugin)
        entry.argtypes = [ctypes.c_uint32]
        table = entry(MSFAQ_PLUGIN_ABI)
        if not table:
            raise RuntimeError(f"{lib} refuses plugin ABI {MSFAQ_PLUGIN_ABI}")
        self.p = table.contents
        if self.p.size < ctypes.sizeof(MsfaqPlugin):
            raise RuntimeError("plugin table is older than this host")
        err = MsfaqError()
        self.kb = self.p.kb_open(kb_dir.encode() if kb_dir else None, 0,
                                 ctypes.byref(err))
        if not self.kb:
            where = err.file.decode()
            if err.line > 0:
                where += f":{err.line}:{err.column}"
            raise RuntimeError(f"{where}: {err.text.decode()}")

    def ask(self, question):
        """The reply as a dict, or ValueError for input the library refuses."""
        r = RESULT()
        err = MsfaqError()
        rc = self.p.ask(self.kb, question.encode("utf-8", "surrogateescape"),
                        0, ctypes.byref(r), ctypes.byref(err))
        if rc < 0:
            raise ValueError(err.text.decode())
        try:
            n = self.p.result_follow_up_count(r)
            section = self.p.result_section(r)
            return {
                "kind": self.p.kind_name(self.p.result_kind(r)).decode(),
                "intent": self.p.result_intent(r).decode(),
                "confidence": self.p.result_confidence(r),
                "section": section.decode() if section else None,
                "answer": self.p.result_answer(r).decode(),
                "follow_ups": [self.p.result_follow_up(r, i).decode()
                               for i in range(n)],
            }
        finally:
            self.p.result_free(r)

    def close(self):
        if self.kb:
            self.p.kb_close(self.kb)
            self.kb = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", default="libmsfaq.so.1")
    ap.add_argument("--kb", help="knowledge-base folder (default: built in)")
    ap.add_argument("questions", nargs="+")
    args = ap.parse_args()
    bot = Msfaq(args.lib, args.kb)
    try:
        for q in args.questions:
            print(json.dumps(bot.ask(q)))
    finally:
        bot.close()


if __name__ == "__main__":
    sys.exit(main())
