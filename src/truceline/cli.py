"""The command line: ``truceline serve | keys | import | export``. Thin: parse, call, print."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, TextIO

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.persistence import DatabaseError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from truceline.application import verifying
from truceline.application.app import ImportFailed, Truceline
from truceline.application.checkpoints import CheckpointError, SigningKey, load_public_key
from truceline.application.keys import ROLES, create_key, local_actor, revoke_key
from truceline.application.notary import CheckpointRefused, Notary
from truceline.domain.errors import Invalid
from truceline.domain.validation import as_posted
from truceline.interop.acled.exporting import exported_types
from truceline.interop.acled.exporting import write_csv as write_acled_csv
from truceline.interop.acled.importing import Options as AcledOptions
from truceline.interop.acled.importing import import_acled, import_deleted, summary_lines
from truceline.interop.acled.reading import LayoutError, read_actor_map
from truceline.projections import queries
from truceline.projections.audit import ScratchSpaceLow, consistent
from truceline.projections.audit import replay as replay_into
from truceline.projections.follower import (
    BULK_PAGE_SIZE,
    Follower,
    ReadModelMismatch,
    open_read_model,
)
from truceline.projections.projector import Projector, ProjectorRunning
from truceline.projections.queries import TimelineFilter
from truceline.projections.readmodel import (
    ReadModel,
    ReadModelInUse,
    ReadModelLock,
    remove_files,
)
from truceline.settings import (
    Settings,
    SettingsError,
    checkpoint_archive_path,
    eventsourcing_env,
    read_model_path,
    redacted,
    signing_key_path,
    sqlite_file,
)

app = typer.Typer(
    help="Truceline: an event-sourced conflict timeline with ceasefire tracking.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback's locals would print the settings, database password included.
    pretty_exceptions_show_locals=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
signing_key_app = typer.Typer(
    help="The key that signs the log's checkpoints.", no_args_is_help=True
)
app.add_typer(signing_key_app, name="signing-key")
err = Console(stderr=True, soft_wrap=True)


def _event_progress() -> Progress:
    """A bar counting events, shown only on a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} events"),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def _error(message: str) -> None:
    # The message may quote the user's input: never let rich read it as markup.
    err.print("[red]error:[/red] " + escape(message))


def _warn(message: str) -> None:
    err.print("[yellow]warning:[/yellow] " + escape(message), highlight=False)


@contextmanager
def _opened() -> Iterator[tuple[Settings, Truceline]]:
    """How every command starts: the settings from ``TRUCELINE_*`` variables and the
    application on them, closed when the command is done. Which store it is goes to
    stderr (on a terminal; always when the store is new), never to stdout."""
    settings = Settings()
    store = sqlite_file(settings)
    new = store is not None and not store.exists()
    try:
        application = Truceline(settings)
    except SettingsError as error:
        _error(str(error))
        raise typer.Exit(2) from None
    except DatabaseError as error:  # a file SQLite will not use, as it is
        _error(f"the event store {_store_name(settings)} cannot be used: {error}")
        raise typer.Exit(2) from None
    _say_which_store(settings, new)
    try:
        yield settings, application
    finally:
        application.close()


def _store_name(settings: Settings) -> str:
    """The event store as an operator finds it: the SQLite file's absolute path, or the
    URL without its password."""
    store = sqlite_file(settings)
    return redacted(settings.database_url) if store is None else os.path.abspath(store)


def _say_which_store(settings: Settings, new: bool) -> None:
    """Name the store on a terminal; warn, always, of one made by this command: from
    another folder, a relative URL (the default one) names a new, empty store, whose keys
    the server would refuse."""
    store = sqlite_file(settings)
    if not new or store is None:
        if err.is_terminal:
            err.print("using the event store " + escape(_store_name(settings)), highlight=False)
        return
    warning = f"created a new, empty event store {_store_name(settings)}"
    if not store.is_absolute():
        warning += (
            f": {redacted(settings.database_url)} is relative to the current folder (an "
            "absolute URL, sqlite:////path/to/file.db, names the same store from any folder)"
        )
    _warn(warning)


@contextmanager
def _read_model_refusals() -> Iterator[None]:
    """Say why the read model was refused and exit: status 3 for a read model of another
    log, 1 while a rebuild or another projector holds it."""
    try:
        yield
    except ReadModelMismatch as error:
        _error(str(error))
        raise typer.Exit(3) from None
    except (ReadModelInUse, ProjectorRunning) as error:
        _error(str(error))
        raise typer.Exit(1) from None


def _checked_read_model(application: Truceline, path: str) -> ReadModel:
    """:func:`open_read_model`, its refusals said."""
    with _read_model_refusals():
        return open_read_model(application, path)


def _alone(path: str) -> ReadModelLock:
    """The read model's lock, exclusive; exit status 1 while a server holds it."""
    try:
        return ReadModelLock(path, exclusive=True)
    except ReadModelInUse as error:
        _error(str(error))
        raise typer.Exit(1) from None


@contextmanager
def _read_model(path: str) -> Iterator[ReadModel]:
    read_model = ReadModel(path)
    try:
        yield read_model
    finally:
        read_model.close()


class ProjectorMode(StrEnum):
    auto = "auto"
    inline = "inline"
    process = "process"
    external = "external"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    projector: Annotated[
        ProjectorMode,
        typer.Option(
            help="who keeps the read model up to the log: inline (each worker follows the "
            "log itself), process (one projector process, started and restarted by serve), "
            "external (truceline project runs elsewhere on this machine); auto: "
            "TRUCELINE_PROJECTOR if it says external, else inline with one worker and "
            "process with several"
        ),
    ] = ProjectorMode.auto,
) -> None:
    """Serve the HTTP API (TRUCELINE_DATABASE_URL picks the store)."""
    import uvicorn

    from truceline.api.serving import uvicorn_options
    from truceline.api.supervisor import ProjectorFailed, ProjectorSupervisor

    # Create the store's tables and check the read model once, before several workers
    # would race to do it.
    with _opened() as (settings, application):
        _checked_read_model(application, read_model_path(settings)).close()
    mode = _projector_mode(projector, settings, workers)
    supervisor = None
    if mode is not ProjectorMode.inline:
        os.environ["TRUCELINE_PROJECTOR"] = "external"  # read by every worker's settings
    if mode is ProjectorMode.process:
        supervisor = ProjectorSupervisor(read_model_path(settings), dict(os.environ))
        try:
            supervisor.start()
        except ProjectorFailed as error:
            _error(str(error))
            raise typer.Exit(error.returncode if error.returncode > 0 else 1) from None
    try:
        uvicorn.run(
            "truceline.api:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            # Deadlines and caps for slow clients, and an access log without key secrets.
            **uvicorn_options(),
        )
    finally:
        if supervisor is not None:
            supervisor.stop()


def _projector_mode(chosen: ProjectorMode, settings: Settings, workers: int) -> ProjectorMode:
    if chosen is not ProjectorMode.auto:
        return chosen
    if settings.projector == "external":
        return ProjectorMode.external
    return ProjectorMode.inline if workers == 1 else ProjectorMode.process


@app.command()
def project(
    exit_with: Annotated[
        int | None, typer.Option(hidden=True, help="end when the process with this id ends")
    ] = None,
) -> None:
    """Keep the read model up to the log, as the one projector of its file, until
    stopped (SIGTERM, SIGINT). Servers on the same machine run with
    TRUCELINE_PROJECTOR=external (or serve --projector external) and only read it."""
    # The signals wait for the main thread below: blocked before any thread starts, so
    # every thread inherits the mask and none of them is interrupted instead.
    ending = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, ending)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    with _opened() as (settings, application):
        projector = Projector(application, read_model_path(settings))
        with _read_model_refusals():
            projector.start()
        try:
            while signal.sigtimedwait(ending, 1.0) is None:
                if exit_with is not None and os.getppid() != exit_with:
                    break  # serve ended without stopping us
        finally:
            projector.stop()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="who or what the key is for")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")] = "reader",
) -> None:
    """Create a key; its secret is printed once, as the last line."""
    if role not in ROLES:
        _error(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        raise typer.Exit(2)
    with _opened() as (_settings, application):
        key, token = create_key(application.store, name, role)
    print(
        f"created {key.role} key {key.key_id} ({key.name}); "
        "keep the secret below, it is not shown again"
    )
    print(token)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    with _opened() as (_settings, application):
        rows = application.store.list_keys()
    columns = ("key_id", "name", "role", "created_at", "revoked_at")
    out = Console()
    if not out.is_terminal:  # piped: tab-separated lines, never cut to a width
        print("\t".join(columns))
        for row in rows:
            print("\t".join(str(row[c] or "") for c in columns))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(
            *(str(row[c] or "") for c in ("key_id", "name", "role", "created_at", "revoked_at"))
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key's id, key_...")]) -> None:
    """Revoke a key: it stops working at once."""
    with _opened() as (_settings, application):
        done = revoke_key(application.store, key_id)
    if not done:
        _error(f"no active key {key_id!r}")
        raise typer.Exit(1)
    print(f"revoked {key_id}")


def _lines(
    stream: IO[bytes], progress: Progress | None, size: int | None
) -> Iterator[tuple[int, object]]:
    task = progress.add_task("importing", total=size) if progress else None
    for number, raw in enumerate(stream, start=1):
        if progress is not None and task is not None:
            progress.advance(task, len(raw))
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise ImportFailed(number, f"not a JSON line: {error}") from None
        if isinstance(data, dict) and "event" in data and "position" in data:
            data = as_posted(data["event"]) if isinstance(data["event"], dict) else data["event"]
        yield number, data


FORMATS = ("ndjson", "acled", "acled-deleted")


@app.command("import")
def import_(
    file: Annotated[
        str, typer.Argument(help="an NDJSON file of envelopes or export lines; - for stdin")
    ],
    format_: Annotated[
        str, typer.Option("--format", help=f"one of: {', '.join(FORMATS)} (see docs/acled.md)")
    ] = "ndjson",
    conflict: Annotated[
        str | None, typer.Option(help="ACLED: the conflict of every row (else acled-<country>)")
    ] = None,
    actor_map: Annotated[
        Path | None, typer.Option(help="ACLED: a CSV 'acled,truceline' renaming actors")
    ] = None,
    retract_missing: Annotated[
        bool, typer.Option(help="ACLED: retract earlier rows this file lacks")
    ] = False,
) -> None:
    """Import events: NDJSON all or nothing (events already in the log are skipped), or
    ACLED's files (new rows, revisions as corrections, deletions as retractions)."""
    if format_ not in FORMATS:
        _error(f"unknown format {format_!r}: one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    if format_ == "ndjson":
        _import_ndjson(file)
    else:
        _import_acled(_existing(file), format_, conflict, actor_map, retract_missing)


def _existing(file: str) -> Path:
    path = Path(file)
    if not path.is_file():
        _error(f"no file {file}")
        raise typer.Exit(2)
    return path


def _import_ndjson(file: str) -> None:
    stream: IO[bytes]
    if file == "-":
        stream, size = sys.stdin.buffer, None
    else:
        path = _existing(file)
        stream, size = path.open("rb"), path.stat().st_size
    show = err.is_terminal
    progress = (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
        )
        if show
        else None
    )
    written = 0

    def writing(events: int) -> None:
        # The second pass, under the store's lock, begins once every line is read (the
        # bar, bytes read, is full by then): the count of events written shows it moving.
        nonlocal written
        written += events
        if progress is not None:
            progress.update(progress.task_ids[0], description=f"writing {written:,} events")

    try:
        with _opened() as (_settings, application), progress or nullcontext(), stream:
            lines = _lines(stream, progress, size)
            count = application.import_events(lines, local_actor(), on_progress=writing)
    except ImportFailed as failure:
        _error(f"{failure}; nothing was imported")
        raise typer.Exit(1) from None
    print(f"imported {count} new event{'' if count == 1 else 's'}")


def _import_acled(
    path: Path, format_: str, conflict: str | None, actor_map: Path | None, retract: bool
) -> None:
    recorded_by = local_actor()
    try:
        actors = read_actor_map(actor_map) if actor_map else None
        with _opened() as (_settings, application), _row_progress() as progress:
            task = progress.add_task("importing ACLED rows", total=None)
            if format_ == "acled-deleted":
                summary = import_deleted(application, path, recorded_by)
            else:
                options = AcledOptions(recorded_by, conflict, actors, retract)
                summary = import_acled(
                    application, path, options, lambda n: progress.advance(task, n)
                )
    except LayoutError as error:
        _error(f"{path}: {error}")
        raise typer.Exit(2) from None
    except ImportFailed as failure:
        _error(f"{failure}; the rows before this chunk were imported, rerun to complete")
        raise typer.Exit(1) from None
    for line in summary_lines(summary):
        print(line)


def _row_progress() -> Progress:
    """A count of rows (their number is not known ahead), shown only on a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        console=err,
        disable=not err.is_terminal,
    )


EXPORT_FORMATS = ("ndjson", "acled")


@app.command()
def export(
    out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
    format_: Annotated[
        str, typer.Option("--format", help="ndjson (the log) or acled (the timeline)")
    ] = "ndjson",
    force: Annotated[bool, typer.Option(help="replace an existing --out file")] = False,
) -> None:
    """Write the log as NDJSON in log order (position, recorded_at, recorded_by, hash,
    event), or with --format acled the timeline's strikes, shellings and clashes in
    ACLED's CSV layout, corrections applied."""
    if format_ not in EXPORT_FORMATS:
        _error(f"unknown format {format_!r}: one of {', '.join(EXPORT_FORMATS)}")
        raise typer.Exit(2)
    with _opened() as (settings, application):
        if out is not None:
            _refuse_to_overwrite(out, settings, force)
        partial = out.with_name(out.name + ".partial") if out else None
        target = _private_text(partial) if partial else sys.stdout
        try:
            if format_ == "acled":
                _export_acled(settings, application, target)
            else:
                for entry in application.store.iter_stored():
                    target.write(json.dumps(entry.export_dict(), ensure_ascii=False) + "\n")
        finally:
            if partial:
                target.close()
    if out and partial:
        os.replace(partial, out)  # only a finished export replaces anything


def _private_text(path: Path) -> TextIO:
    """``path`` opened to write UTF-8 text, mode 0600 (a leftover of an earlier run made
    so too): an export holds the whole log."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    return open(descriptor, "w", encoding="utf-8", newline="")


def _protected_files(settings: Settings) -> dict[Path, str]:
    """The files an --out must never name: the store, the read models, the signing key
    and the checkpoint archive (with SQLite's companions)."""
    named = {
        Path(read_model_path(settings)): "read model",
        signing_key_path(settings): "signing key",
        checkpoint_archive_path(settings): "checkpoint archive",
    }
    store = eventsourcing_env(settings).get("SQLITE_DBNAME")
    if store:
        named[Path(store)] = "event store"
    return {
        Path(f"{path}{suffix}").resolve(): what
        for path, what in named.items()
        for suffix in ("", "-wal", "-shm", "-journal", ".lock")
    }


def _refuse_to_overwrite(out: Path, settings: Settings, force: bool) -> None:
    """Exit 2 if ``out`` is one of this installation's own files, or exists and
    ``force`` was not given."""
    what = _protected_files(settings).get(out.resolve())
    if what is not None:
        _error(f"--out {out} is this installation's {what}: choose another file")
        raise typer.Exit(2)
    if out.exists() and not force:
        _error(f"--out {out} exists: pass --force to replace it")
        raise typer.Exit(2)


def _export_acled(settings: Settings, application: Truceline, target: TextIO) -> None:
    """The read models, brought up to the log first, page by page into ACLED rows."""
    read_model = _checked_read_model(application, read_model_path(settings))
    try:
        Follower(application, read_model).catch_up()
        write_acled_csv(_timeline_items(read_model), target, comment=True)
    finally:
        read_model.close()


def _timeline_items(read_model: ReadModel) -> Iterator[dict[str, Any]]:
    where = TimelineFilter(types=exported_types([]))
    after: tuple[int, int] | None = None
    while True:
        with read_model.reading() as db:
            items, after = queries.timeline_page(db, where, 1000, after)
        yield from items
        if after is None:
            return


@app.command()
def rebuild() -> None:
    """Rebuild the read models from the log (stop the server first: a server holds the
    read model, and the rebuild refuses, exit 1, until it has stopped)."""
    with _opened() as (settings, application):
        target = read_model_path(settings)
        scratch = target + ".rebuild"
        with _alone(target):  # no server starts meanwhile, either
            remove_files(scratch)
            with _read_model(scratch) as read_model, _event_progress() as progress:
                follower = Follower(application, read_model, page_size=BULK_PAGE_SIZE)
                task = progress.add_task("projecting", total=application.log_position())
                count = follower.catch_up(lambda n: progress.advance(task, n), bulk=True)
            # The finished file replaces the old one only now: a failed rebuild changes
            # nothing.
            remove_files(target)
            os.replace(scratch, target)
    print(f"rebuilt the read models from {count} events into {target}")


@app.command()
def verify(
    file: Annotated[
        Path | None, typer.Option(help="check an export file offline instead of the log")
    ] = None,
    against: Annotated[
        list[Path] | None,
        typer.Option(
            help="a checkpoint, an archive of them, or an earlier export that the log must "
            "extend (repeatable)"
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="with --file: a checkpoint the export must extend")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="the signing key's public half (PEM or hex) to check checkpoints with; "
            "default: the configured signing key's"
        ),
    ] = None,
) -> None:
    """Check the log's hash chain, its Merkle tree, the keys' access log and this
    installation's read models, and with --against that the log extends what others
    kept; exit 0 only if everything checks out. With --file, check an export offline
    (with --checkpoint and --public-key, against a signed checkpoint too)."""
    try:
        key = _public_key(public_key)
        if file is not None:
            findings = verifying.offline(file, checkpoint, key)
        else:
            findings = _verify_live(against or [], key)
    except (CheckpointError, OSError) as error:
        _error(str(error))
        raise typer.Exit(2) from None
    for finding in findings:
        print(finding.line)
    raise typer.Exit(0 if all(f.ok for f in findings) else 1)


def _verify_live(against: list[Path], key: Ed25519PublicKey | None) -> list[verifying.Finding]:
    with _opened() as (settings, application):
        if key is None and against:
            key = _configured_public_key(settings)
        audit = application.audit()
        findings = verifying.audit_findings(audit)
        for path in against:
            findings += verifying.against_file(audit, path, key)
        with _read_model(read_model_path(settings)) as read:
            try:
                projections_ok, position = consistent(application, read, settings.scratch_path)
            except ScratchSpaceLow as error:
                _error(str(error))
                raise typer.Exit(2) from None
    state = "consistent with the log" if projections_ok else "DIFFER from a rebuild"
    read_models = verifying.Finding(projections_ok, f"read models at position {position}: {state}")
    return [*findings, read_models]


def _public_key(path: Path | None) -> Ed25519PublicKey | None:
    return None if path is None else load_public_key(path.read_text(encoding="utf-8"))


def _configured_public_key(settings: Settings) -> Ed25519PublicKey | None:
    """The public half of this installation's signing key, if it has one."""
    try:
        return SigningKey.load(signing_key_path(settings)).public_key
    except CheckpointError:
        return None


@app.command()
def checkpoint(
    out: Annotated[Path | None, typer.Option(help="also write the checkpoint here")] = None,
) -> None:
    """Sign a checkpoint of the log's head (and of the keys' access log, if it moved),
    keep it and append it to the archive; print the log's latest checkpoint as JSON."""
    with _opened() as (settings, application):
        notary = _notary(settings, application)
        try:
            notary.sign()
        except CheckpointRefused as refusal:
            _error(str(refusal))
            raise typer.Exit(1) from None
        latest = notary.latest()
    assert latest is not None  # just signed, or signed before at this size
    text = json.dumps(latest.as_dict(), indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    print(text)


def _notary(settings: Settings, application: Truceline) -> Notary:
    try:
        key = SigningKey.load(signing_key_path(settings))
    except CheckpointError as error:
        _error(str(error))
        raise typer.Exit(2) from None
    return Notary(application, key, checkpoint_archive_path(settings))


@signing_key_app.command("create")
def signing_key_create(
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="exit 0 when the key exists already")
    ] = False,
) -> None:
    """Create the key that signs checkpoints (TRUCELINE_SIGNING_KEY_PATH), mode 0600;
    print its public half."""
    path = signing_key_path(Settings())
    if if_missing and path.exists():
        return
    try:
        key = SigningKey.create(path)
    except CheckpointError as error:
        _error(str(error))
        raise typer.Exit(1) from None
    err.print(f"created {escape(str(path))} (key id {key.key_id}); its public half:")
    print(key.public_pem(), end="")


@signing_key_app.command("public")
def signing_key_public() -> None:
    """Print the signing key's public half (PEM), for auditors to keep."""
    try:
        key = SigningKey.load(signing_key_path(Settings()))
    except CheckpointError as error:
        _error(str(error))
        raise typer.Exit(2) from None
    print(key.public_pem(), end="")


@app.command()
def replay(
    as_of: Annotated[str, typer.Option("--as-of", help="a log position, or an RFC 3339 time")],
    out: Annotated[Path, typer.Option(help="the SQLite file to write")],
    force: Annotated[bool, typer.Option(help="replace an existing --out file")] = False,
) -> None:
    """Write the read models as they stood at a past position or time, to a new file."""
    with _opened() as (settings, application):
        _refuse_to_overwrite(out, settings, force)
        try:
            position = application.knowledge(as_of).position or 0
        except Invalid as error:
            _error(f"--as-of: {error.errors[0]['msg']}")
            raise typer.Exit(2) from None
        partial = out.with_name(out.name + ".partial")
        with _event_progress() as progress:
            task = progress.add_task("replaying", total=position)
            count = replay_into(application, position, partial, lambda n: progress.advance(task, n))
    remove_files(out)
    os.replace(partial, out)  # only a finished replay replaces anything
    print(f"wrote the read models as of position {position} ({count} events) to {out}")


def main() -> None:
    # What the command creates, and a server's workers after it (they inherit the umask),
    # is its owner's only: the store, the read models, the archive, exports. The code
    # that makes those files says so too; this covers the rest. PostgreSQL's server
    # does the same (umask 0077).
    os.umask(0o077)
    app()
