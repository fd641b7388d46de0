#!/usr/bin/env python3
"""checksrc: the conventions of docs/ARCHITECTURE.md ("Conventions") that a machine can check,
in the spirit of curl's checksrc. Each finding is printed as FILE:LINE: RULE: what is wrong.

  scripts/checksrc.py             self-test, then the tree (lib, services, tools, fuzz, bench)
  scripts/checksrc.py DIR         self-test, then DIR laid out like the tree
  scripts/checksrc.py --self-test the self-test alone: a bad file per rule must be caught

Rules (comments and string literals are blanked first, so prose may name what code may not):
  banned-call     sprintf, vsprintf, strcpy, strcat, atoi, atol, gets, rand, srand
  getenv          getenv outside lib/sso_config.c (and ssoctl's own tools/ssoctl/ssoctl_env.c)
  header-purpose  a header's first line is "/* <its name>: <what it is for>"
  reason-buffer   a reason buffer is `char *why, size_t why_size` in lib/ and services/,
                  `char *err, size_t errlen` in tools/
  sqlite          <sqlite3.h>, sqlite3* or SQLITE_* outside the directory's SQLite engine
                  (services/directory/store/dir_db_sqlite.c and dir_checkpoint): the rest of
                  the tree reaches the database through dir_db.h, so a second engine is one
                  more table (store/dir_db_engine.h)
Ends with one "checksrc: N passed, N failed" line; exits 1 on any finding.
"""
import os
import re
import sys
import tempfile

DIRS = ("lib", "services", "tools", "fuzz", "bench")
BANNED = ("sprintf", "vsprintf", "strcpy", "strcat", "atoi", "atol", "gets", "rand", "srand")
GETENV_ALLOWED = ("lib/sso_config.c", "tools/ssoctl/ssoctl_env.c")
SQLITE_ALLOWED = ("services/directory/store/dir_db_sqlite.c",
                  "services/directory/store/dir_checkpoint.c",
                  "services/directory/store/dir_checkpoint.h")
# Not after a letter, digit, '_', '.' or '->': a member or a longer name is something else.
CALL = r"(?<![\w.>])(%s)\s*\("
BANNED_RE = re.compile(CALL % "|".join(BANNED))
GETENV_RE = re.compile(CALL % "getenv|secure_getenv")
SQLITE_RE = re.compile(r"(?<![\w.>])(sqlite3\w*|SQLITE_\w+)")
SQLITE_INCLUDE_RE = re.compile(r"^\s*#\s*include\s*[<\"]sqlite3(ext)?\.h[>\"]")
REASON_RE = re.compile(
    r"char\s*\*\s*(err|errbuf|errmsg|error|why|reason|msg|message)\s*,\s*size_t\s+(\w+)")
REASON_PAIRS = {"lib": ("why", "why_size"), "services": ("why", "why_size"),
                "fuzz": ("why", "why_size"), "bench": ("why", "why_size"),
                "tools": ("err", "errlen")}


def blank(text):
    """text with comments and the insides of string and character literals replaced by blanks;
    newlines stay, so line numbers do not move."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + (text[j - 1] if j - 1 > i else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_file(root, rel):
    """[(rel, line, rule, message)] for one file."""
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        text = f.read()
    code = blank(text)
    found = []
    raw_lines = text.split("\n")
    for number, line in enumerate(code.split("\n"), 1):
        for m in BANNED_RE.finditer(line):
            found.append((rel, number, "banned-call",
                          "%s() is banned: use snprintf, a bounded copy or sso_parse_int" % m.group(1)))
        if rel not in GETENV_ALLOWED:
            for m in GETENV_RE.finditer(line):
                found.append((rel, number, "getenv",
                              "%s() outside sso_config: add a field to sso_config_t" % m.group(1)))
        if rel not in SQLITE_ALLOWED:
            if SQLITE_INCLUDE_RE.match(raw_lines[number - 1]):
                found.append((rel, number, "sqlite",
                              "includes SQLite outside its engine: use store/dir_db.h"))
            else:
                for m in SQLITE_RE.finditer(line):
                    found.append((rel, number, "sqlite",
                                  "%s outside the SQLite engine: use store/dir_db.h" % m.group(1)))
    want = REASON_PAIRS.get(rel.split("/")[0])
    for m in REASON_RE.finditer(code):  # the whole text: a parameter list may wrap
        if want and (m.group(1), m.group(2)) != want:
            found.append((rel, code.count("\n", 0, m.start()) + 1, "reason-buffer",
                          "char *%s, size_t %s: this layer spells it char *%s, size_t %s"
                          % (m.group(1), m.group(2), want[0], want[1])))
    if rel.endswith(".h"):
        stem = os.path.basename(rel)[:-2]
        first = text.split("\n", 1)[0]
        if not re.match(r"/\* %s: \S" % re.escape(stem), first):
            found.append((rel, 1, "header-purpose",
                          'a header opens with "/* %s: <what it is for>"' % stem))
    return found


def sources(root):
    for top in DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", "corpus"))
            for name in sorted(filenames):
                if name.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def check_tree(root):
    """(files clean, findings)."""
    clean, findings = 0, []
    for rel in sources(root):
        found = check_file(root, rel)
        findings += found
        clean += not found
    return clean, findings


# One bad line per rule, and lines that must pass: (path, text, expected findings as
# (line, rule)).
SELF_TEST = [
    ("lib/bad_calls.c",
     "#include <stdio.h>\n"
     + "".join("void f%d(char *d, const char *s) { %s(d, s); }\n" % (i, name)
               for i, name in enumerate(BANNED)),
     [(i + 2, "banned-call") for i in range(len(BANNED))]),
    ("lib/bad_env.c", "const char *f(void) { return getenv(\"HOME\"); }\n", [(1, "getenv")]),
    ("services/x/bad_env.c", "int f(void) { return secure_getenv (\"X\") != 0; }\n",
     [(1, "getenv")]),
    ("lib/sso_config.c", "const char *f(void) { return getenv(\"SSO_X\"); }\n", []),
    ("tools/ssoctl/ssoctl_env.c", "const char *f(void) { return getenv(\"SSO_X\"); }\n", []),
    ("tools/other/other.c", "const char *f(void) { return getenv(\"SSO_X\"); }\n",
     [(1, "getenv")]),
    ("lib/no_comment.h", "#ifndef X\n#define X\n#endif\n", [(1, "header-purpose")]),
    ("lib/wrong_name.h", "/* other_name: a header that names another module. */\n",
     [(1, "header-purpose")]),
    ("lib/good_name.h", "/* good_name: what it is for. */\nint g(char *why, size_t why_size);\n",
     []),
    ("services/x/reason.c", "int f(char *err, size_t err_size);\nint g(int a, char *why,\n"
     "      size_t len);\n", [(1, "reason-buffer"), (2, "reason-buffer")]),
    ("tools/t/reason.c", "int f(char *why, size_t why_size);\nint g(char *err, size_t errlen);\n",
     [(1, "reason-buffer")]),
    # Prose and data may say anything; longer names, members and fgets are other functions.
    ("lib/clean.c",
     "/* never sprintf(buf, ...) or strcpy(a, b); getenv(\"X\") is sso_config's */\n"
     "// atoi(\"1\") and rand() are banned\n"
     "const char *s = \"strcat(a, b) gets( rand(\";\n"
     "const char c = '\"'; int n = snprintf(b, 1, \"%s\", \"\\\" sprintf(\");\n"
     "int m = x.rand(1) + p->gets(2) + my_atoi(3) + strncpy_s(4); fgets(b, 1, f);\n"
     "const char *t = \"a /* b\"; int k = atol_checked(1);\n",
     []),
    # SQLite only in its engine: the include, a call, a type, a constant, each one finding;
    # dir_db.c is the engine-neutral front, in store/ but not the engine.
    ("services/directory/api/bad_db.c",
     "#include <sqlite3.h>\n"
     "int f(sqlite3_stmt *s) { return sqlite3_step(s) == SQLITE_ROW; }\n"
     "sqlite3 *g(void);\n"
     "#include \"sqlite3.h\"\n",
     [(1, "sqlite"), (2, "sqlite"), (2, "sqlite"), (2, "sqlite"), (3, "sqlite"), (4, "sqlite")]),
    ("services/directory/store/dir_db.c", "int n = SQLITE_OK;\n", [(1, "sqlite")]),
    ("services/directory/store/dir_db_sqlite.c",
     "#include <sqlite3.h>\nint f(sqlite3_stmt *s) { return sqlite3_step(s) == SQLITE_ROW; }\n",
     []),
    ("services/directory/store/dir_checkpoint.h", "/* dir_checkpoint: x. */\n"
     "#include <sqlite3.h>\nvoid f(sqlite3 *db);\n", []),
    ("services/x/prose.c", "/* sqlite3_step returns SQLITE_ROW */\n"
     "const char *q = \"SELECT sql FROM sqlite_master\"; int my_sqlite3_x; int s.sqlite3;\n",
     []),
    ("README.txt", "sprintf( getenv(\n", []),  # not C: not read
]


def self_test():
    """(passed, failed): each case's findings must be exactly the expected ones."""
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="checksrc-") as root:
        for rel, text, _ in SELF_TEST:
            os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        _, findings = check_tree(root)
        for rel, _, expected in SELF_TEST:
            got = sorted((line, rule) for path, line, rule, _ in findings if path == rel)
            if got == sorted(expected):
                passed += 1
            else:
                failed += 1
                print("checksrc self-test: %s: expected %s, got %s" % (rel, sorted(expected), got))
    return passed, failed


def main(argv):
    args = argv[1:]
    passed, failed = self_test()
    if failed:
        print("checksrc self-test FAILED: the checker misses or invents findings")
    if args == ["--self-test"]:
        print("checksrc: %d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    clean, findings = check_tree(root)
    for rel, line, rule, message in findings:
        print("%s:%d: %s: %s" % (rel, line, rule, message))
    passed += clean
    failed += len(findings)
    print("checksrc: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
