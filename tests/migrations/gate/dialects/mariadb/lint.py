"""The unsafe-DDL rules for MariaDB: what squawk is for PostgreSQL, for the few rules that matter.

No maintained Python linter for MySQL-family DDL exists, so the gate has its own rules, each
proven on a fixture (`tests/migrations/test_unsafe_ddl_mariadb.py`). They read each revision's
offline upgrade SQL for MariaDB, tokenised by sqlglot's MySQL tokenizer (so a keyword inside a
string literal or a comment is never mistaken for DDL), one statement at a time:

- `require-online-alter`: an `ALTER TABLE` of a table the revision did not create, doing
  something MariaDB may do by copying the table (MODIFY, CHANGE, a primary key, CONVERT TO, an
  AUTO_INCREMENT or stored column) or can only do so (`ADD … CHECK`, `ADD … FOREIGN KEY`), or
  asking for `ALGORITHM=COPY` / `LOCK=SHARED|EXCLUSIVE`, must say `ALGORITHM=INSTANT`,
  `ALGORITHM=NOCOPY` or `LOCK=NONE`. Without the clause MariaDB picks the cheapest way it can,
  and when that is a copy while writes wait it does so silently; with it, the server refuses
  instead (measured on 10.11: `ADD CONSTRAINT … CHECK, LOCK=NONE` fails with "LOCK=NONE is not
  supported … Try LOCK=SHARED"). What 10.11 always does in place without blocking writes (a
  column added or dropped, a default, a B-tree index, a constraint dropped) needs no clause:
  requiring one there would be a false alarm on every `op.add_column`.
- `require-online-index`: `CREATE INDEX` on an existing table that cannot be built with writes
  going on (FULLTEXT, SPATIAL) or asks for a blocking lock, unless it says `LOCK=NONE`.
- `check-length-counts-bytes`: `LENGTH()` in a CHECK counts bytes on MariaDB and characters on
  PostgreSQL, so one rule written for both bounds a different thing on each (`CHAR_LENGTH`).
- `check-collation-comparison`: a CHECK comparing a string with `=`/`<>`/`!=`/`IN` compares
  under the column's collation: MariaDB's defaults ignore case and trailing spaces (PAD SPACE),
  so `name <> ''` refuses a name of spaces on MariaDB and accepts it on PostgreSQL.
- `require-explicit-default`: `ADD COLUMN … NOT NULL` without a DEFAULT on an existing table.
  PostgreSQL refuses it on a table with rows; MariaDB (strict mode too, measured) fills every
  existing row with the type's implicit default ('' or 0), data nobody wrote.
- `require-lock-wait-timeout`: DDL runs with `lock_wait_timeout` set by `env.py` (the server's
  default is a day), and no revision changes it, or `max_statement_time`, on its own.

The dynamic checks stay the proof of what happened (`rebuilds.py`: did the table id change?);
these rules say, before anything runs, what could happen and how to make the server refuse it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlglot.dialects.mysql import MySQL
from sqlglot.tokenizer_core import Token, TokenType

from tests.migrations.gate.dialects.base import LintFinding

DOCS = "https://mariadb.com/kb/en/"

ONLINE_CLAUSES = {("ALGORITHM", "INSTANT"), ("ALGORITHM", "NOCOPY"), ("LOCK", "NONE")}
"""`ALTER TABLE` clauses that make MariaDB refuse, rather than copy or lock, if it cannot."""
BLOCKING_CLAUSES = {("ALGORITHM", "COPY"), ("LOCK", "SHARED"), ("LOCK", "EXCLUSIVE")}
"""Clauses that ask for a copy or a lock outright."""
COPIES_TABLE = (
    ("ADD", "CONSTRAINT", "*", "CHECK"),
    ("ADD", "CHECK"),
    ("ADD", "CONSTRAINT", "*", "FOREIGN"),
    ("ADD", "FOREIGN"),
)
"""Operations MariaDB 10.11 can only do by copying the table (measured for CHECK: the table id
changes; a FOREIGN KEY copies unless foreign_key_checks is off)."""
MAY_BLOCK = (
    ("MODIFY",),
    ("CHANGE",),
    ("CONVERT",),
    ("ENGINE",),
    ("FORCE",),
    ("ORDER",),
    ("ADD", "PRIMARY"),
    ("ADD", "CONSTRAINT", "*", "PRIMARY"),
    ("DROP", "PRIMARY"),
    ("ADD", "FULLTEXT"),
    ("ADD", "SPATIAL"),
)
"""Operations MariaDB does in place only in some cases (a type change that keeps the storage
format, …) and otherwise by copying the table or blocking writes, silently unless told not to.
Everything else an ALTER does on 10.11 (a column added or dropped, a default, an index, a
constraint dropped) runs in place without blocking writes, so needs no clause."""
COPYING_COLUMN_WORDS = {"AUTO_INCREMENT", "STORED", "PERSISTENT"}
"""An added column with one of these is filled by copying the table."""
SESSION_LIMITS = ("LOCK_WAIT_TIMEOUT", "INNODB_LOCK_WAIT_TIMEOUT", "MAX_STATEMENT_TIME")
"""The session variables env.py sets for every migration: a revision leaves them alone."""
NOT_COLUMNS = {
    "CONSTRAINT",
    "CHECK",
    "INDEX",
    "KEY",
    "UNIQUE",
    "PRIMARY KEY",
    "FOREIGN KEY",
    "FULLTEXT",
    "SPATIAL",
    "PRIMARY",
    "FOREIGN",
}
"""Words after ADD that add something other than a column."""
COMPARISONS = {TokenType.EQ, TokenType.NEQ, TokenType.NULLSAFE_EQ}


@dataclass(frozen=True)
class Rule:
    """A rule's documentation and the safe way to make the same change."""

    docs: str
    help: str


RULES: dict[str, Rule] = {
    "require-online-alter": Rule(
        docs=f"{DOCS}innodb-online-ddl-overview/",
        help=(
            "add `, ALGORITHM=INSTANT` (or NOCOPY, or `LOCK=NONE`) so MariaDB refuses instead "
            "of copying or locking; if it refuses, make the change another way (a new column "
            "backfilled in batches instead of MODIFY) or, for a copy that is accepted, waive "
            "this rule with a reason and declare the copy in `rewrites_tables_on`"
        ),
    ),
    "require-online-index": Rule(
        docs=f"{DOCS}create-index/",
        help=(
            "end a B-tree index with `ALGORITHM=INPLACE LOCK=NONE` (writes go on while it "
            "builds); a FULLTEXT or SPATIAL index blocks writes however it is written: build "
            "it in a quiet period and waive this rule with a reason that says so"
        ),
    ),
    "check-length-counts-bytes": Rule(
        docs=f"{DOCS}length/",
        help=(
            "use CHAR_LENGTH(), which counts characters on both servers (PostgreSQL's "
            "char_length too), or bound the column's type (VARCHAR(n) counts characters)"
        ),
    ),
    "check-collation-comparison": Rule(
        docs=f"{DOCS}char/",
        help=(
            "say what the rule means in MariaDB's terms: compare with BINARY (or COLLATE "
            "utf8mb4_nopad_bin) to count case and trailing spaces, or test the characters "
            "themselves (REGEXP, CHAR_LENGTH); spell it per server with ddl_if / a branch "
            "on the dialect, as app/models.py does for the name rule"
        ),
    ),
    "require-explicit-default": Rule(
        docs=f"{DOCS}alter-table/#add-column",
        help=(
            "give the column the server_default existing rows should hold (a value the API "
            "accepts), or add it nullable, backfill in batches, then make it NOT NULL"
        ),
    ),
    "require-lock-wait-timeout": Rule(
        docs=f"{DOCS}server-system-variables/#lock_wait_timeout",
        help=(
            "alembic/env.py sets lock_wait_timeout and max_statement_time before any DDL; "
            "never set them inside a revision (`-x lock_timeout=…` changes them for one run)"
        ),
    ),
}


@dataclass(frozen=True)
class Statement:
    """One statement of a file: its tokens and the 0-based line it starts on."""

    tokens: tuple[Token, ...]

    @property
    def line(self) -> int:
        return self.tokens[0].line - 1

    def words(self) -> list[str]:
        """Upper-cased token texts; a string literal is `'…'` so it never reads as a keyword."""
        return [
            f"'{token.text}'" if token.token_type == TokenType.STRING else token.text.upper()
            for token in self.tokens
        ]

    def starts(self, *words: str) -> bool:
        return self.words()[: len(words)] == list(words)


def statements(sql: str) -> Iterator[Statement]:
    """`sql` split at its semicolons, comments gone (sqlglot's tokenizer drops them)."""
    current: list[Token] = []
    for token in MySQL().tokenize(sql):
        if token.token_type == TokenType.SEMICOLON:
            if current:
                yield Statement(tuple(current))
            current = []
        else:
            current.append(token)
    if current:
        yield Statement(tuple(current))


def _clauses(tokens: Sequence[Token]) -> list[list[Token]]:
    """The comma-separated operations of an `ALTER TABLE name …` (parentheses respected)."""
    clauses: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        depth += (token.token_type == TokenType.L_PAREN) - (token.token_type == TokenType.R_PAREN)
        if token.token_type == TokenType.COMMA and depth == 0:
            clauses.append([])
        else:
            clauses[-1].append(token)
    return [clause for clause in clauses if clause]


def _upper(tokens: Sequence[Token]) -> list[str]:
    return [token.text.upper() for token in tokens]


def _shown(tokens: Sequence[Token], count: int) -> str:
    """The first `count` tokens as written, to quote an operation in a message."""
    return " ".join(token.text for token in tokens[:count])


def _matches(clause: Sequence[str], pattern: Sequence[str]) -> bool:
    """Whether `clause` starts with `pattern` (`*`: any word; sqlglot keeps `FOREIGN KEY` and
    `PRIMARY KEY` as one token, which `FOREIGN` and `PRIMARY` match)."""
    return len(clause) >= len(pattern) and all(
        want in ("*", word) or word.startswith(f"{want} ")
        for want, word in zip(pattern, clause, strict=False)
    )


def _table_after(words: Sequence[str], keyword: str) -> str:
    """The (unqualified, unquoted) table name after `keyword`."""
    index = words.index(keyword) + 1
    if index < len(words) and words[index] in ("IF", "ONLY"):
        index += 3 if words[index] == "IF" else 1
    name = words[index] if index < len(words) else ""
    if index + 2 < len(words) and words[index + 1] == ".":
        name = words[index + 2]
    return name.strip("`").lower()


Check = Callable[[Statement, set[str]], str | None]


def _blocking_operation(tokens: Sequence[Token]) -> str | None:
    """What makes one `ALTER TABLE` operation copy the table or block writes, if anything."""
    operation = _upper(tokens)
    if any(_matches(operation, pattern) for pattern in COPIES_TABLE):
        return f"`{_shown(tokens, 4)} …` can only be done by copying the table"
    if any(_matches(operation, pattern) for pattern in MAY_BLOCK):
        return f"`{_shown(tokens, 3)} …` may be done by copying the table"
    if operation[0] == "ADD" and COPYING_COLUMN_WORDS & set(operation):
        return f"`{_shown(tokens, 3)} …` (an AUTO_INCREMENT or stored column) copies the table"
    return None


def _pairs(words: Sequence[str]) -> set[tuple[str, str]]:
    """Every `NAME = VALUE` of the statement."""
    return {(words[i], words[i + 2]) for i in range(len(words) - 2) if words[i + 1] == "="}


def _lock_clauses(words: Sequence[str]) -> tuple[bool, str]:
    """Whether the statement claims an online way (the server then refuses rather than
    blocks), and the blocking `ALGORITHM=`/`LOCK=` clauses it asks for ('' if none)."""
    clauses = _pairs(words)
    asked = sorted(f"{name}={value}" for name, value in clauses & BLOCKING_CLAUSES)
    return bool(clauses & ONLINE_CLAUSES), ", ".join(asked)


def _online_alter(statement: Statement, created: set[str]) -> str | None:
    words = statement.words()
    if not statement.starts("ALTER", "TABLE"):
        return None
    table = _table_after(words, "TABLE")
    online, asked = _lock_clauses(words)
    if table in created or online:
        return None
    if asked:
        return f"ALTER TABLE {table} asks for {asked}: writes to {table} wait meanwhile"
    operations = _clauses(statement.tokens[3:])
    reasons = [r for op in operations if (r := _blocking_operation(op)) is not None]
    if not reasons:
        return None
    return (
        f"ALTER TABLE {table} without ALGORITHM=INSTANT, ALGORITHM=NOCOPY or LOCK=NONE: "
        f"{'; '.join(reasons)}, while writes to {table} wait"
    )


def _online_index(statement: Statement, created: set[str]) -> str | None:
    words = statement.words()
    if words[:1] != ["CREATE"] or "INDEX" not in words[:4] or "ON" not in words:
        return None
    table = _table_after(words, "ON")
    online, asked = _lock_clauses(words)
    if table in created or online:
        return None
    if asked:
        return f"CREATE INDEX on {table} asks for {asked}: writes wait while it builds"
    kind = next((word for word in words[1:3] if word in ("FULLTEXT", "SPATIAL")), None)
    if kind is None:
        return None  # InnoDB builds a B-tree index in place, writes going on
    return f"a {kind} index on {table} cannot be built with LOCK=NONE: writes wait while it builds"


def _check_bodies(statement: Statement) -> Iterator[list[Token]]:
    """The tokens inside each `CHECK (…)` of the statement."""
    tokens = statement.tokens
    for index, token in enumerate(tokens):
        if token.text.upper() != "CHECK" or index + 1 >= len(tokens):
            continue
        if tokens[index + 1].token_type != TokenType.L_PAREN:
            continue
        depth, body = 0, []
        for inner in tokens[index + 1 :]:
            depth += (inner.token_type == TokenType.L_PAREN) - (
                inner.token_type == TokenType.R_PAREN
            )
            body.append(inner)
            if depth == 0:
                break
        yield body[1:-1]


def _added_column_name(tokens: Sequence[Token]) -> str:
    """The column of `ADD [COLUMN] [IF NOT EXISTS] name …`."""
    words = _upper(tokens)
    index = 2 if words[1:2] == ["COLUMN"] else 1
    if words[index : index + 3] == ["IF", "NOT", "EXISTS"]:
        index += 3
    return tokens[index].text if index < len(tokens) else "?"


def _implicit_default(statement: Statement, created: set[str]) -> str | None:
    if not statement.starts("ALTER", "TABLE"):
        return None
    table = _table_after(statement.words(), "TABLE")
    if table in created:
        return None
    for tokens in _clauses(statement.tokens[3:]):
        words = _upper(tokens)
        if words[0] != "ADD" or (len(words) > 1 and words[1] in NOT_COLUMNS):
            continue
        name = _added_column_name(tokens)
        not_null = any(a == "NOT" and b == "NULL" for a, b in itertools.pairwise(words))
        filled = {"DEFAULT", "AUTO_INCREMENT", "AS", "GENERATED"} & set(words)
        if not_null and not filled:
            return (
                f"ADD COLUMN {name} … NOT NULL without a DEFAULT: MariaDB fills every existing "
                f"row of {table} with the type's implicit default ('' or 0), silently"
            )
    return None


def _length_counts_bytes(statement: Statement, _created: set[str]) -> str | None:
    for body in _check_bodies(statement):
        for here, after in itertools.pairwise(body):
            is_call = after.token_type == TokenType.L_PAREN
            if is_call and here.text.upper() in ("LENGTH", "OCTET_LENGTH"):
                return (
                    f"CHECK uses {here.text.upper()}(), which counts bytes on MariaDB (a "
                    "character of utf8mb4 is 1 to 4) and characters on PostgreSQL"
                )
    return None


def _collation_comparison(statement: Statement, _created: set[str]) -> str | None:
    for body in _check_bodies(statement):
        texts = {token.text.upper() for token in body}
        if "BINARY" in texts or "COLLATE" in texts:
            continue
        for index, token in enumerate(body):
            is_comparison = token.token_type in COMPARISONS or token.text.upper() == "IN"
            window = body[index + 1 : index + 3]
            if is_comparison and any(t.token_type == TokenType.STRING for t in window):
                literal = next(t.text for t in window if t.token_type == TokenType.STRING)
                return (
                    f"CHECK compares a string with {token.text.upper()} '{literal}' under the "
                    "column's collation: MariaDB's default ignores case and trailing spaces, "
                    "PostgreSQL's does not, so the two servers accept different rows"
                )
    return None


def _sets_session_limit(statement: Statement) -> str | None:
    words = statement.words()
    if words[:1] != ["SET"]:
        return None
    named = [word for word in words if word in SESSION_LIMITS]
    return named[0].lower() if named else None


RULE_CHECKS: dict[str, Check] = {
    "require-online-alter": _online_alter,
    "require-online-index": _online_index,
    "require-explicit-default": _implicit_default,
    "check-length-counts-bytes": _length_counts_bytes,
    "check-collation-comparison": _collation_comparison,
}
DDL = ("ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE")


def lint_file(name: str, sql: str) -> list[LintFinding]:
    """Every finding of every rule in one file of offline MariaDB SQL."""
    findings: list[LintFinding] = []
    created: set[str] = set()
    timeout_set = False
    revision_starts = _first_revision_line(sql)

    def found(statement: Statement, rule: str, message: str) -> None:
        first = statement.tokens[0]
        findings.append(
            LintFinding(
                file=name,
                line=statement.line,
                column=first.col - len(first.text),
                rule=rule,
                message=message,
                help=RULES[rule].help,
                docs=RULES[rule].docs,
            )
        )

    for statement in statements(sql):
        words = statement.words()
        limit = _sets_session_limit(statement)
        if limit is not None:
            if statement.line > revision_starts:
                found(
                    statement,
                    "require-lock-wait-timeout",
                    f"the revision sets {limit} itself, overriding env.py's limit",
                )
            timeout_set = timeout_set or limit == "lock_wait_timeout"
            continue
        if words[0] not in DDL or _is_version_table(words):
            continue
        if not timeout_set:
            found(
                statement,
                "require-lock-wait-timeout",
                "DDL runs before lock_wait_timeout is set: behind a long transaction it "
                "waits up to the server default (a day), and every query queues behind it",
            )
            timeout_set = True  # one finding for the file, not one per statement
        for rule, check in RULE_CHECKS.items():
            message = check(statement, created)
            if message is not None:
                found(statement, rule, message)
        if statement.starts("CREATE", "TABLE"):
            created.add(_table_after(words, "TABLE"))
    return findings


def _first_revision_line(sql: str) -> int:
    """The 0-based line of Alembic's first `-- Running upgrade …` marker: what comes before it
    is env.py's session setup, what comes after is the revision's (end of file if none)."""
    lines = sql.splitlines()
    markers = (i for i, line in enumerate(lines) if line.startswith("-- Running "))
    return next(markers, len(lines))


def _is_version_table(words: Sequence[str]) -> bool:
    return "ALEMBIC_VERSION" in words[:6]


def lint(files: Mapping[str, str]) -> list[LintFinding]:
    """Lint each file's SQL (name → text); findings in file order, then line order."""
    return [finding for name, sql in files.items() for finding in lint_file(name, sql)]
