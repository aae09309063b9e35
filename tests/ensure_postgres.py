"""Find or start the PostgreSQL server the test suite uses; print its admin URL on stdout.

    .venv/bin/python tests/ensure_postgres.py          # prints postgresql://USER@HOST:PORT/DB
    .venv/bin/python tests/ensure_postgres.py --stop   # stops the server this script started

Order of preference:
1. `CASEWORK_TEST_PG`, when set: it must answer, or this script fails (no silent fallback).
2. Our own server on 127.0.0.1:55432, from the binaries inside the `pgserver` wheel, with its
   data in `var/pgtest` (or `/tmp/casework-pgtest-<uid>` when the server's user cannot reach
   `var/`). A server already running there is reused. It runs for throwaway test data
   (SERVER_OPTIONS: no fsync, no waiting for commits to reach the disk, 300 connections), so
   the suite's hundreds of fresh databases and thousands of commits cost no disk flushes:
   several times faster than a server set up to keep its data, such as a machine's own.
3. A PostgreSQL on 127.0.0.1:5432 that lets `postgres` in without a password, when ours
   cannot start.

`CASEWORK_TEST_PG_FORCE_EMBEDDED=1` skips 1 and 3. PostgreSQL refuses to run as root, so as
root the server runs as the system user `casework-pg` (created when missing). Only the URL
goes to stdout; every diagnostic goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SYSTEM_PORT = 5432
EMBEDDED_PORT = 55432
SYSTEM_URL = f"postgresql://postgres@{HOST}:{SYSTEM_PORT}/postgres"
EMBEDDED_URL = f"postgresql://postgres@{HOST}:{EMBEDDED_PORT}/postgres"
SERVER_USER = "casework-pg"
UID = os.getuid()
TMP = Path(tempfile.gettempdir())
# A throwaway server for tests: durability is not wanted, speed and connections are.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
)
# sockaddr_un.sun_path is 108 bytes on Linux, 104 on macOS.
MAX_SOCKET_PATH = 100


class Failure(Exception):
    """Nothing works; the message says what to do."""


def say(message: str) -> None:
    print(f"ensure_postgres: {message}", file=sys.stderr, flush=True)


def answers(url: str) -> str | None:
    """None when `url` accepts a connection and a query, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (run this with the project's .venv/bin/python)"
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()
    except psycopg.Error as error:
        first = (str(error).strip().splitlines() or [""])[0]
        return f"{error.__class__.__name__}: {first}"
    return None


# --- who runs the server -------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """The account the server's processes run as: ourselves, or `casework-pg` under root."""

    name: str
    uid: int
    gid: int
    switch: bool  # True when we are root and must drop to this account

    def run(self, command: Sequence[str], check: bool = True) -> subprocess.CompletedProcess:
        """Runs a command as this account; its output goes to our stderr, never our stdout."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PG", "LC_")) and key not in ("LANG", "LANGUAGE")
        }
        env["LC_ALL"] = "C"
        kwargs: dict = {}
        if self.switch:
            kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []}
            env["HOME"] = "/"
            env["USER"] = env["LOGNAME"] = self.name
        # A temporary file, not a pipe: pg_ctl's children could otherwise hold a pipe open and
        # hang us (and anyone reading our stdout through $(...)).
        with tempfile.TemporaryFile("w+") as output:
            result = subprocess.run(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd="/",
                text=True,
                check=False,
                **kwargs,
            )
            output.seek(0)
            text = output.read()
        result.stdout = text
        if check and result.returncode != 0:
            tail = "\n".join(text.strip().splitlines()[-15:])
            raise Failure(f"{Path(command[0]).name} failed (exit {result.returncode}):\n{tail}")
        return result

    def can_reach(self, path: Path, write: bool = False) -> bool:
        """Can this account enter (and, if asked, write to) `path`? Asks as that account."""
        if not self.switch:
            return os.access(path, os.X_OK | (os.W_OK if write else 0))
        test = shutil.which("test") or "/usr/bin/test"
        flag = "-w" if write else "-x"
        return self.run([test, flag, str(path)], check=False).returncode == 0


def server_account() -> Account:
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=False)
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        say(f"running as root: creating the system user {SERVER_USER} for PostgreSQL")
        try:
            subprocess.run(
                [
                    useradd,
                    "--system",
                    "--no-create-home",
                    "--user-group",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    SERVER_USER,
                ],
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr,
                stderr=sys.stderr,
                check=True,
            )
        except (OSError, subprocess.CalledProcessError) as error:
            raise Failure(
                f"PostgreSQL will not run as root and creating the user {SERVER_USER} failed "
                f"({error}); create it, or run as a normal user, or set CASEWORK_TEST_PG"
            ) from error
        entry = pwd.getpwnam(SERVER_USER)
    return Account(SERVER_USER, entry.pw_uid, entry.pw_gid, switch=True)


# --- where things are ----------------------------------------------------------------------


def packaged_binaries() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise Failure(
            "no PostgreSQL answers and the pgserver package is not installed: "
            "run `.venv/bin/pip install -e '.[dev]'`, or set CASEWORK_TEST_PG"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise Failure(f"the pgserver package has no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def binaries_for(account: Account) -> Path:
    """The bin/ directory the account can execute; copies the install where it can when not.

    The wheel's binaries find their shared libraries through the RPATH
    `$ORIGIN/../../../pgserver.libs`, so a copy keeps the layout `pgserver/pginstall/bin` next
    to `pgserver.libs`.
    """
    bin_dir = packaged_binaries()
    if account.can_reach(bin_dir / "postgres"):
        return bin_dir
    install = bin_dir.parent  # site-packages/pgserver/pginstall
    package = install.parent  # site-packages/pgserver
    libs = package.parent / "pgserver.libs"
    copy = TMP / f"casework-pginstall-{UID}"
    copied_bin = copy / "pgserver" / "pginstall" / "bin"
    marker = copy / ".source"
    source = f"{install} {(bin_dir / 'postgres').stat().st_mtime_ns}"
    if not (marker.exists() and marker.read_text() == source):
        say(f"{account.name} cannot reach {install}; copying the PostgreSQL install to {copy}")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(install, copy / "pgserver" / "pginstall", symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, copy / "pgserver.libs", symlinks=True)
        for folder, dirs, files in os.walk(copy):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)  # noqa: S103 - the server user reads it
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o444)
        os.chmod(copy, 0o755)  # noqa: S103 - the server user must reach the binaries
        marker.write_text(source)
    if not account.can_reach(copied_bin / "postgres"):
        raise Failure(f"{account.name} cannot execute {copied_bin / 'postgres'}")
    return copied_bin


def data_dir_candidates() -> list[Path]:
    return [ROOT / "var" / "pgtest", TMP / f"casework-pgtest-{UID}"]


def choose_data_dir(account: Account) -> Path:
    """`var/pgtest`, unless the server's account cannot get there (a private home, say)."""
    preferred, fallback = data_dir_candidates()
    if (fallback / "PG_VERSION").exists() and not (preferred / "PG_VERSION").exists():
        return fallback  # chosen before: keep using it
    try:
        preferred.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        say(f"cannot create {preferred.parent} ({error}); using {fallback}")
        return fallback
    if account.can_reach(preferred.parent):
        return preferred
    say(f"{account.name} cannot traverse to {preferred.parent}; using {fallback}")
    return fallback


def prepare(data_dir: Path, account: Account) -> None:
    if data_dir.exists():
        owner = data_dir.stat().st_uid
        if owner not in (UID, account.uid):
            raise Failure(f"{data_dir} belongs to uid {owner}, not to us; remove it")
    data_dir.mkdir(mode=0o700, exist_ok=True)
    if account.switch:
        for folder, dirs, files in os.walk(data_dir):
            os.chown(folder, account.uid, account.gid)
            for name in dirs + files:
                os.lchown(os.path.join(folder, name), account.uid, account.gid)
    data_dir.chmod(0o700)
    if not account.can_reach(data_dir, write=True):
        raise Failure(f"{account.name} cannot write to {data_dir}")


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One ensure_postgres at a time on this machine (two `make test` runs at once)."""
    with open(TMP / f"casework-pgtest-{UID}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the embedded server -------------------------------------------------------------------


def running(bin_dir: Path, data_dir: Path, account: Account) -> bool:
    if not (data_dir / "postmaster.pid").exists():
        return False
    status = account.run([str(bin_dir / "pg_ctl"), "status", "-D", str(data_dir)], check=False)
    return status.returncode == 0


def log_tail(data_dir: Path, lines: int = 20) -> str:
    try:
        text = (data_dir / "server.log").read_text(errors="replace")
    except OSError:
        return "(no server.log)"
    return "\n".join(text.splitlines()[-lines:])


def start_embedded() -> str:
    account = server_account()
    bin_dir = binaries_for(account)
    data_dir = choose_data_dir(account)
    prepare(data_dir, account)
    if running(bin_dir, data_dir, account):
        problem = answers(EMBEDDED_URL)
        if problem is None:
            say(f"reusing the embedded PostgreSQL already running from {data_dir}")
            return EMBEDDED_URL
        raise Failure(
            f"the embedded PostgreSQL in {data_dir} is running but {EMBEDDED_URL} does not answer "
            f"({problem}); stop it with `tests/ensure_postgres.py --stop`"
        )
    if answers(EMBEDDED_URL) is None:
        say(f"a PostgreSQL already answers on {HOST}:{EMBEDDED_PORT}; reusing it")
        return EMBEDDED_URL
    if not (data_dir / "PG_VERSION").exists():
        if any(data_dir.iterdir()):
            say(f"{data_dir} holds an unfinished cluster; starting it afresh")
            shutil.rmtree(data_dir)
            prepare(data_dir, account)
        say(f"initialising a PostgreSQL cluster in {data_dir}")
        account.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
    socket_dir = str(data_dir) if len(str(data_dir)) + 20 < MAX_SOCKET_PATH else ""
    options = f"-p {EMBEDDED_PORT} -h {HOST} -k {shlex.quote(socket_dir)} {SERVER_OPTIONS}"
    say(f"starting PostgreSQL on {HOST}:{EMBEDDED_PORT} (data {data_dir}, as {account.name})")
    try:
        account.run(
            [
                str(bin_dir / "pg_ctl"),
                "start",
                "-D",
                str(data_dir),
                "-l",
                str(data_dir / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
            ]
        )
    except Failure as error:
        raise Failure(f"{error}\nserver.log:\n{log_tail(data_dir)}") from error
    problem = answers(EMBEDDED_URL)
    if problem is not None:
        raise Failure(
            f"started, but {EMBEDDED_URL} does not answer ({problem})\n{log_tail(data_dir)}"
        )
    return EMBEDDED_URL


def stop_embedded() -> int:
    account = server_account()
    bin_dir = binaries_for(account)
    stopped = 0
    for data_dir in data_dir_candidates():
        if running(bin_dir, data_dir, account):
            say(f"stopping the embedded PostgreSQL in {data_dir}")
            account.run([str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir), "-m", "fast", "-w"])
            stopped += 1
    if not stopped:
        say("no embedded PostgreSQL was running")
    return 0


def find_or_start() -> str:
    forced = os.environ.get("CASEWORK_TEST_PG_FORCE_EMBEDDED", "") not in ("", "0")
    given = os.environ.get("CASEWORK_TEST_PG", "").strip()
    if given and not forced:
        problem = answers(given)
        if problem is not None:
            raise Failure(f"CASEWORK_TEST_PG does not answer ({problem}); fix it or unset it")
        say("using CASEWORK_TEST_PG")
        return given
    try:
        with locked():
            return start_embedded()
    except (Failure, OSError) as error:
        if forced:
            raise
        problem = answers(SYSTEM_URL)
        if problem is not None:
            raise Failure(
                f"{error}\nand no usable PostgreSQL on {HOST}:{SYSTEM_PORT} either ({problem})"
            ) from error
        say(f"our own PostgreSQL did not start ({error}); using the one on {HOST}:{SYSTEM_PORT}")
        return SYSTEM_URL


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stop", action="store_true", help="stop the server this script started")
    args = parser.parse_args(argv)
    try:
        if args.stop:
            with locked():
                return stop_embedded()
        url = find_or_start()
    except (Failure, OSError) as error:
        say(f"no PostgreSQL for the tests: {error}")
        return 1
    print(url, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
