"""A local Neo4j 5.26 server (Community + Browser + APOC + GDS) from Maven Central, without Docker.

The jars are resolved by the pinned Maven module ``neo4j/local/pom.xml``; the real server
entry point (``org.neo4j.server.CommunityEntryPoint``, what ``bin/neo4j console`` runs) is
started in the background with a generated ``neo4j.conf``: auth on, loopback only, the
graphfraud guide and style allow-listed. The password comes from ``NEO4J_PASSWORD`` or a
secret file and reaches ``neo4j-admin`` through a picocli ``@file`` (mode 0600, removed
right after), never through argv.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..errors import GraphfraudError

#: Groups whose jars Neo4j must see in plugins/ to register their procedures.
PLUGIN_GROUPS = "org.neo4j.gds,org.neo4j.procedure"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"


class LocalServerError(GraphfraudError):
    """The local Neo4j server cannot be prepared, started or stopped."""


@dataclass(frozen=True)
class ServerStatus:
    """What ``serve status`` reports."""

    running: bool
    pid: int | None
    bolt_uri: str | None
    http_url: str | None
    home: Path


@dataclass(frozen=True)
class LocalServer:
    """Layout of one local server: everything lives under ``home``.

    Parameters
    ----------
    home : Path
        Server directory (conf/, data/, logs/, lib/, plugins/, run/); created as needed.
    pom : Path
        The pinned Maven module that lists the jars; None: :func:`default_pom`, found when
        the jars are resolved (stop and status never need it).
    bolt_port, http_port : int
        Loopback ports; 0 picks free ones.
    guide_url : str
        Origin that serves ``cypher/`` (guide and style); allow-listed for Browser.
    heap : str
        JVM heap; 1g holds the small markets of the tests and a 200k-account market
        (measured by benchmarks/neo4j_bench.py).
    pagecache : str
        Page cache; 512m keeps the whole store of a 200k-account market in memory.
    """

    home: Path
    pom: Path | None = None
    bolt_port: int = 7687
    http_port: int = 7474
    guide_url: str = "http://127.0.0.1:8001"
    heap: str = "1g"
    pagecache: str = "512m"

    @property
    def lib(self) -> Path:
        return self.home / "lib"

    @property
    def plugins(self) -> Path:
        return self.home / "plugins"

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "neo4j.pid"

    @property
    def ports_file(self) -> Path:
        return self.home / "run" / "ports"

    def classpath(self) -> str:
        # bin/neo4j puts plugins/ first: GDS registers its components as kernel extensions
        # found on the classpath, its procedures from plugins/.
        return f"{self.plugins}/*{os.pathsep}{self.lib}/*"


#: Where the pinned Maven module is found, in order: inside an installed wheel (the build copies
#: ``neo4j/local/pom.xml`` there, see pyproject.toml), then in the source checkout the package runs from.
PACKAGED_POM = Path(__file__).with_name("maven") / "pom.xml"
CHECKOUT_POM = Path(__file__).resolve().parents[2] / "neo4j" / "local" / "pom.xml"


def default_pom(candidates: tuple[Path, ...] = (PACKAGED_POM, CHECKOUT_POM)) -> Path:
    """The pinned Maven module, located from the package itself (not from the current directory).

    Raises
    ------
    LocalServerError
        Neither an installed copy nor a checkout holds it.
    """
    for pom in candidates:
        if pom.is_file():
            return pom
    raise LocalServerError("this graphfraud installation does not include the Maven module of the local Neo4j "
                           "(neo4j/local/pom.xml); reinstall graphfraud from a wheel or a source checkout, or pass "
                           "--pom PATH to a copy of neo4j/local/pom.xml.")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise LocalServerError(f"{tool} is not installed; install Java 17 and Maven (apt-get install "
                               "openjdk-17-jre-headless maven) or use docker/compose.yaml instead.")
    return path


def resolve(server: LocalServer) -> None:
    """Copy the pinned jars from the local Maven cache (downloading them once) into lib/ and plugins/."""
    pom = server.pom or default_pom()
    if not pom.is_file():
        raise LocalServerError(f"{pom} does not exist; pass --pom PATH to the Maven module neo4j/local/pom.xml "
                               "(or leave --pom out to use the one shipped with graphfraud).")
    mvn = _need("mvn")
    stamp = server.home / "run" / "resolved"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    for target in (server.lib, server.plugins):
        shutil.rmtree(target, ignore_errors=True)
    for out, flag in ((server.lib, "-DexcludeGroupIds"), (server.plugins, "-DincludeGroupIds")):
        done = subprocess.run([mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                               f"-DoutputDirectory={out}", f"{flag}={PLUGIN_GROUPS}"],
                              capture_output=True, text=True)
        if done.returncode:
            raise LocalServerError(f"Maven could not resolve {pom}: {done.stdout[-400:]}{done.stderr[-400:]} "
                                   "— check that Maven Central is reachable, "
                                   "then run 'graphfraud neo4j serve start' again.")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def write_conf(server: LocalServer, bolt_port: int, http_port: int) -> Path:
    """Write conf/neo4j.conf for this server and return its path."""
    conf = server.home / "conf" / "neo4j.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    guide = server.guide_url.rstrip("/")
    lines = {
        "server.default_listen_address": "127.0.0.1",
        "server.default_advertised_address": "127.0.0.1",
        "server.bolt.listen_address": f"127.0.0.1:{bolt_port}",
        "server.http.listen_address": f"127.0.0.1:{http_port}",
        "server.https.enabled": "false",
        "dbms.security.auth_enabled": "true",
        "server.directories.data": str(server.home / "data"),
        "server.directories.logs": str(server.home / "logs"),
        "server.directories.plugins": str(server.plugins),
        "server.directories.run": str(server.home / "run"),
        "server.directories.import": str(server.home / "import"),
        "server.memory.heap.initial_size": server.heap,
        "server.memory.heap.max_size": server.heap,
        "server.memory.pagecache.size": server.pagecache,
        "dbms.security.procedures.unrestricted": "gds.*,apoc.*",
        "dbms.usage_report.enabled": "false",
        # Browser fetches the guide and the style from the origin that serves cypher/.
        # Named ..._whitelist in 5.26. Browser compares host names, so list the guide's host name
        # as well as its origin.
        "browser.remote_content_hostname_whitelist": f"{urlparse(guide).hostname},{guide}",
        # Browser 5 plays remote guides with :guide (its :play knows only the built-in ones).
        "browser.post_connect_cmd": f"style {guide}/style/graphfraud.grass; guide {guide}/guide/investigate.html",
    }
    conf.write_text("# Written by graphfraud neo4j serve; edits are overwritten on the next start.\n"
                    + "".join(f"{k}={v}\n" for k, v in lines.items()))
    return conf


def _java_env(server: LocalServer, conf_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["NEO4J_HOME"] = str(server.home)
    env["NEO4J_CONF"] = str(conf_dir or server.home / "conf")
    env.pop("NEO4J_PASSWORD", None)  # the server does not need it; keep it out of its environment
    return env


def _picocli_quote(password: str) -> str:
    return '"' + password.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _admin(server: LocalServer, *args: str, stdout: int | None = subprocess.PIPE) -> subprocess.Popen[str]:
    """Start ``neo4j-admin ARGS`` from the server's classpath (its output as text, stderr merged)."""
    java = _need("java")
    # neo4j-admin validates its configuration strictly and does not know the Browser settings:
    # it gets a configuration of its own that names only the data directory it writes to.
    admin_conf = server.home / "run" / "admin-conf"
    admin_conf.mkdir(parents=True, exist_ok=True)
    (admin_conf / "neo4j.conf").write_text(f"server.directories.data={server.home / 'data'}\n")
    return subprocess.Popen([java, f"-Xmx{server.heap}", "-cp", server.classpath(), ADMIN_TOOL, *args],
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT, text=True,
                            env=_java_env(server, admin_conf))


def set_initial_password(server: LocalServer, password: str) -> None:
    """Set the password of user ``neo4j`` before the first start (a no-op once the system database exists)."""
    if (server.home / "data" / "databases" / "system").exists():
        return
    secret = server.home / "run" / "initial-password"
    secret.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(_picocli_quote(password) + "\n")
        # picocli expands @file into the argument: the password never appears in argv.
        proc = _admin(server, "dbms", "set-initial-password", f"@{secret}")
        output, _ = proc.communicate()
    finally:
        secret.unlink(missing_ok=True)
    if proc.returncode:
        raise LocalServerError("neo4j-admin could not set the initial password (it must have at least 8 "
                               f"characters): {output.strip()[-300:]}")


class BulkImportError(LocalServerError):
    """``neo4j-admin database import full`` failed, refused, or imported other counts than were written."""


@dataclass(frozen=True)
class ImportCounts:
    """What the import tool reports it imported."""

    nodes: int
    relationships: int
    properties: int
    seconds: float


_IMPORTED = re.compile(r"Imported:\s+([\d,]+) nodes\s+([\d,]+) relationships\s+([\d,]+) properties")
#: Lines of the import tool's output worth passing on as progress: its phases and its verdict.
_PHASE = re.compile(r"^([A-Z][A-Za-z <>-]*), started \d{4}-|^(IMPORT (?:DONE|FAILED).*)")


def database_store(server: LocalServer, database: str = "neo4j") -> Path:
    """Where the server keeps the store of ``database`` (present once it was started or imported)."""
    return server.home / "data" / "databases" / database


def import_full(server: LocalServer, sources: list[str], *, database: str = "neo4j", overwrite: bool = False,
                multiline: list[Path] | None = None, progress: Callable[[str], None] | None = None) -> ImportCounts:
    """Run ``neo4j-admin database import full`` into ``database`` of a stopped server.

    Parameters
    ----------
    sources : list of str
        ``--nodes=...`` and ``--relationships=...`` arguments (header file, data file).
    overwrite : bool
        Pass ``--overwrite-destination``: the caller has checked that the database holds no data.
    multiline : list of Path
        Data files with values that span lines (only those pay for the slower multi-line parser).
    progress : callable
        Called with each phase line of the tool's output.

    Raises
    ------
    BulkImportError
        The server runs, or the tool failed (its cause is in the message; the whole output is in
        logs/import.log). The store files a failed import leaves are removed, unless the
        store existed and ``overwrite`` was not given (the tool then left it untouched).
    """
    if status(server).running:
        raise BulkImportError(f"the Neo4j in {server.home} is running; stop it first "
                              f"('graphfraud neo4j serve stop --home {server.home}').")
    log_path = server.home / "logs" / "import.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    report = server.home / "run" / "import.report"
    report.unlink(missing_ok=True)
    existed = database_store(server, database).exists()
    # The database first: --nodes and --relationships take every argument after them as a file.
    args = ["database", "import", "full", database, "--verbose", f"--overwrite-destination={str(overwrite).lower()}",
            f"--report-file={report}", f"--max-off-heap-memory={server.pagecache}", *sources]
    if multiline:
        args += ["--multiline-fields-format=v2", "--multiline-fields=" + ",".join(str(p) for p in multiline)]
    t0 = time.perf_counter()
    lines: list[str] = []
    with open(log_path, "w", encoding="utf-8") as log:
        proc = _admin(server, *args)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            phase = _PHASE.match(line)
            if progress and phase:
                progress((phase.group(1) or phase.group(2)).strip())
        proc.wait()
    output = "".join(lines)
    # --verbose adds stack traces to the log; the message gets the innermost cause the tool names.
    said = [line.strip() for line in lines if line.strip() and not line.startswith(("\t", "    at ", "\tat "))]
    causes = [line for line in said if line.startswith("Caused by:") or "Exception:" in line]
    tail = (causes[-1] if causes else " ".join(said[-4:]))[-600:]
    if proc.returncode:
        # A failed import leaves store files Neo4j cannot open. They go when the store is one this
        # import created or one the caller found empty (overwrite), so the same command can run
        # again; a store the tool refused to touch stays as it was.
        if overwrite or not existed:
            for leftover in (database_store(server, database), server.home / "data" / "transactions" / database):
                shutil.rmtree(leftover, ignore_errors=True)
        if "already contains a database" in output or "already exists" in output:
            raise BulkImportError(f"database {database!r} of the Neo4j in {server.home} already exists: a bulk import "
                                  "only creates a new database; load into it with 'graphfraud neo4j ingest' "
                                  f"without --bulk. The import tool said: {tail}")
        raise BulkImportError(f"neo4j-admin database import failed (exit {proc.returncode}): {tail} — see {log_path}; "
                              "fix the cause and run the same command again (the database was not started).")
    bad = report.read_text("utf-8", errors="replace").strip() if report.exists() else ""
    found = _IMPORTED.search(output)
    if bad or found is None:
        raise BulkImportError(f"neo4j-admin reported {'bad entries: ' + bad[:400] if bad else 'no import summary'}; "
                              f"see {log_path} and {report}. The files written do not describe one consistent "
                              "graph: please report this with the log.")
    nodes, rels, props = (int(g.replace(",", "")) for g in found.groups())
    return ImportCounts(nodes, rels, props, time.perf_counter() - t0)


def _pid(server: LocalServer) -> int | None:
    try:
        pid = int(server.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _bolt_answers(port: int) -> bool:
    """True once the Bolt port accepts a connection and answers the Bolt handshake."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            # Bolt magic preamble and four version proposals (5.x, 4.4): a Bolt server replies with 4 bytes.
            s.sendall(b"\x60\x60\xb0\x17" + b"\x00\x00\x04\x05" + b"\x00\x00\x04\x04" + b"\x00" * 8)
            return len(s.recv(4)) == 4
    except OSError:
        return False


def status(server: LocalServer) -> ServerStatus:
    pid = _pid(server)
    if pid is None or not server.ports_file.exists():
        return ServerStatus(False, None, None, None, server.home)
    bolt, http = server.ports_file.read_text().split()
    return ServerStatus(True, pid, f"bolt://127.0.0.1:{bolt}", f"http://127.0.0.1:{http}", server.home)


def start(server: LocalServer, password: str, timeout_s: float = 180.0) -> ServerStatus:
    """Resolve, configure and start the server in the background; return once Bolt answers.

    ``timeout_s``: a cold start on a loaded 2-core machine took about 50 s (JIT, GDS
    procedure registration); 180 s leaves room for a slower CI machine.
    """
    current = status(server)
    if current.running:
        check_password(current, password)
        return current
    _need("java")
    resolve(server)
    bolt = server.bolt_port or free_port()
    http = server.http_port or free_port()
    for sub in ("data", "logs", "run", "import"):
        (server.home / sub).mkdir(parents=True, exist_ok=True)
    write_conf(server, bolt, http)
    set_initial_password(server, password)
    # The server keeps its own copy of the log's descriptor; ours closes once it is started.
    with open(server.home / "logs" / "console.log", "ab") as log:
        proc = subprocess.Popen(["java", f"-Xms{server.heap}", f"-Xmx{server.heap}", "-cp", server.classpath(),
                                 ENTRY_POINT, f"--home-dir={server.home}", f"--config-dir={server.home / 'conf'}"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=_java_env(server), start_new_session=True)
    server.pid_file.write_text(f"{proc.pid}\n")
    server.ports_file.write_text(f"{bolt} {http}\n")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.pid_file.unlink(missing_ok=True)
            raise LocalServerError(f"Neo4j exited while starting (code {proc.returncode}); see "
                                   f"{server.home / 'logs' / 'neo4j.log'} for the cause.")
        if _bolt_answers(bolt):
            current = status(server)
            check_password(current, password, timeout_s=max(10.0, deadline - time.monotonic()))
            return current
        time.sleep(1)
    stop(server)
    raise LocalServerError(f"Neo4j did not answer on Bolt port {bolt} within {timeout_s:.0f}s; see "
                           f"{server.home / 'logs' / 'neo4j.log'}.")


def check_password(current: ServerStatus, password: str, timeout_s: float = 10.0) -> None:
    """Raise a clear error when the running server refuses ``password`` for user ``neo4j``.

    A home keeps the password of its first start (:func:`set_initial_password` is a no-op
    afterwards), so a different ``NEO4J_PASSWORD`` later would otherwise surface as a
    refusal in the first command that connects, far from its cause. Bolt answers a moment
    before authentication is ready: other errors are retried until ``timeout_s``.
    """
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with GraphDatabase.driver(current.bolt_uri or "", auth=("neo4j", password)) as driver:
                driver.verify_connectivity()
            return
        except AuthError:
            raise LocalServerError(
                f"Neo4j in {current.home} is running but refuses this password for user 'neo4j': a server home "
                "keeps the password of its first start. Use that password (NEO4J_PASSWORD or --password-file), "
                f"or stop the server and remove {current.home / 'data'} to start afresh (this deletes its "
                "databases).") from None
        except (ServiceUnavailable, Neo4jError, OSError) as exc:
            # Also a login refused for a while after wrong passwords (AuthenticationRateLimit).
            if time.monotonic() >= deadline:
                raise LocalServerError(
                    f"Neo4j in {current.home} answers on Bolt but does not accept a login "
                    f"({getattr(exc, 'code', None) or type(exc).__name__}); wait a few seconds and run the same "
                    f"command again, or see {current.home / 'logs' / 'neo4j.log'}.") from None
            time.sleep(1)


def stop(server: LocalServer, timeout_s: float = 60.0) -> bool:
    """Stop the server (SIGTERM: Neo4j checkpoints and shuts down cleanly). True if one was running."""
    pid = _pid(server)
    if pid is None:
        server.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _pid(server) is not None:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:  # our own child: reap it
                break
        except ChildProcessError:
            pass
        time.sleep(0.5)
    if _pid(server) is not None:
        print(f"Neo4j (pid {pid}) ignored SIGTERM for {timeout_s:.0f}s; killing it", file=sys.stderr)
        os.kill(pid, signal.SIGKILL)
    server.pid_file.unlink(missing_ok=True)
    return True


def password_from(env: dict[str, str] | None = None, password_file: Path | None = None) -> str:
    """The server password: from ``password_file`` if given, else ``NEO4J_PASSWORD``."""
    env = dict(os.environ) if env is None else env
    if password_file is not None:
        text = password_file.read_text().strip()
        if text:
            return text
        raise LocalServerError(f"{password_file} is empty; write the password into it (one line).")
    if env.get("NEO4J_PASSWORD"):
        return env["NEO4J_PASSWORD"]
    raise LocalServerError("no password for the local Neo4j: export NEO4J_PASSWORD or pass --password-file "
                           "(it is never accepted on the command line).")
