"""`hub listings import` / `hub restrictions import`: all or nothing, every bad line named."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text

from hub.context import HubContext
from hub.core import demo
from hub.core.flat import flatten_record
from hub.db.models import ChangeEvent, Listing, Restriction
from hub.services import importer, registry
from hub.services.actors import Actor
from tests.conftest import invoke
from tests.samples import org_listing, org_restriction, person_listing


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    rows = [flatten_record(r) for r in records]
    names = sorted({k for row in rows for k in row})
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return path


def count(ctx: HubContext, model: type) -> int:
    with ctx.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def good_listings(n: int) -> list[dict[str, Any]]:
    return [person_listing(listing_id=f"L-2024-{i:06d}", case_number=f"（2024）京0105执{i}号")
            for i in range(1, n + 1)]


BAD_ROWS = {
    "wrong check digit": ({"id_number": "110105198503150018"}, "id_number", "check"),
    "minor": ({"id_number": "110105201001010010", "decided_on": "2024-06-03"},
              "id_number", "minor"),
    "malformed case number": ({"case_number": "2024京0105执1234"}, "case_number", ""),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_one_bad_row_imports_nothing(
    case: str, hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    overrides, field, word = BAD_ROWS[case]
    records = good_listings(5)
    records[2].update(overrides)
    result = invoke(runner, "listings", "import", write_jsonl(tmp_path / "in.jsonl", records))
    assert result.exit_code == 1
    assert f"line 3: {field}:" in result.output
    assert word in result.output.split(f"line 3: {field}:")[1].splitlines()[0].lower()
    assert "nothing was imported" in result.output
    assert count(hub_ctx, Listing) == 0
    assert count(hub_ctx, ChangeEvent) == 0


def test_bad_uscc_imports_nothing_unless_confirmed(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    bad = org_listing(listing_id="L-2024-000900", id_number="91110105MA01ABCD5G")
    result = invoke(runner, "listings", "import",
                    write_jsonl(tmp_path / "in.jsonl", [*good_listings(2), bad]))
    assert result.exit_code == 1
    assert "line 3: id_number:" in result.output
    assert count(hub_ctx, Listing) == 0
    bad["id_confirmed"] = True
    result = invoke(runner, "listings", "import",
                    write_jsonl(tmp_path / "in2.jsonl", [*good_listings(2), bad]))
    assert result.exit_code == 0, result.output
    with hub_ctx.sessions() as s:
        suspect = s.get(Listing, "L-2024-000900")
        assert suspect is not None
        assert suspect.id_suspect


def test_skip_invalid_imports_the_rest_and_writes_rejects(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    records = good_listings(6)
    records[1]["id_number"] = "110105198503150018"
    records[4]["behaviours"] = []
    src = write_jsonl(tmp_path / "batch.jsonl", records)
    result = invoke(runner, "listings", "import", src, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "4 added" in result.output
    assert "2 rejected" in result.output
    assert count(hub_ctx, Listing) == 4
    assert count(hub_ctx, ChangeEvent) == 4
    rejects = (tmp_path / "batch.rejects.jsonl").read_bytes().splitlines()
    assert [orjson.loads(r)["listing_id"] for r in rejects] == ["L-2024-000002", "L-2024-000005"]
    log = (tmp_path / "batch.rejects.log").read_text(encoding="utf-8")
    assert "line 2: id_number:" in log
    assert "line 5: behaviours:" in log


def test_skip_invalid_with_every_line_rejected_fails(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """Nothing imported at all is no success for a night's job (it exited 0)."""
    records = good_listings(2)
    for record in records:
        record["id_number"] = "110105198503150018"
    src = write_jsonl(tmp_path / "all.jsonl", records)
    result = invoke(runner, "listings", "import", src, "--skip-invalid")
    assert result.exit_code == 1
    assert "every line of all.jsonl was rejected: nothing was imported" in result.output
    assert len((tmp_path / "all.rejects.jsonl").read_bytes().splitlines()) == 2
    assert count(hub_ctx, Listing) == 0


def test_a_failed_retry_leaves_the_rejects_of_the_last_run_as_they_were(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    records = good_listings(3)
    records[1]["id_number"] = "110105198503150018"
    src = write_csv(tmp_path / "day.csv", records)
    assert invoke(runner, "listings", "import", src, "--skip-invalid").exit_code == 0
    rejects, log = tmp_path / "day.rejects.csv", tmp_path / "day.rejects.log"
    rejects.write_bytes(rejects.read_bytes() + b"fixes in progress\n")
    kept = rejects.read_bytes(), log.read_bytes()
    # The retry stops (a quote swallows the rest of the file): nothing is imported,
    # and the clerk's rejects file and its reasons stay as they were.
    src.write_text(src.read_text(encoding="utf-8").replace(",偿还", ',"偿还', 1) + "x" * 140_000,
                   encoding="utf-8")
    result = invoke(runner, "listings", "import", src, "--skip-invalid")
    assert result.exit_code == 1
    assert (rejects.read_bytes(), log.read_bytes()) == kept
    assert sorted(p.name for p in tmp_path.glob("*day*")) == [
        "day.csv", "day.rejects.csv", "day.rejects.log"]


def test_rejects_keep_the_source_bytes_encoding_and_bom(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    records = good_listings(3)
    records[1]["id_number"] = "110105198503150018"
    text = write_csv(tmp_path / "u.csv", records).read_text(encoding="utf-8")
    head, *lines = text.splitlines(keepends=True)
    src = tmp_path / "g.csv"
    src.write_bytes("".join([head, *lines]).encode("gb18030")
                    + b"\xff\xff" + lines[0].encode("gb18030"))  # a line no codec reads
    result = invoke(runner, "listings", "import", src, "--skip-invalid", "--encoding", "gb18030")
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    assert (tmp_path / "g.rejects.csv").read_bytes() == (
        (head + lines[1]).encode("gb18030") + b"\xff\xff" + lines[0].encode("gb18030"))
    bom = tmp_path / "b.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    invoke(runner, "listings", "import", bom, "--skip-invalid")
    assert (tmp_path / "b.rejects.csv").read_bytes() == (
        b"\xef\xbb\xbf" + (head + lines[1]).encode())


def test_csv_import_and_reimport_is_a_correction(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    listings = [org_listing(), person_listing()]
    result = invoke(runner, "listings", "import", write_csv(tmp_path / "l.csv", listings))
    assert result.exit_code == 0, result.output
    result = invoke(runner, "restrictions", "import",
                    write_csv(tmp_path / "r.csv", [org_restriction()]))
    assert result.exit_code == 0, result.output
    with hub_ctx.sessions() as s:
        r = s.get(Restriction, "R-2024-000002")
        assert r is not None
        assert [p.role for p in r.bound_persons] == ["legal_representative"]
    # The same file again changes nothing; a changed line is one correction event.
    result = invoke(runner, "listings", "import", write_csv(tmp_path / "l2.csv", listings))
    assert "2 unchanged" in result.output
    listings[1]["obligation"] = "偿还借款本金人民币40000元及利息"
    result = invoke(runner, "listings", "import", write_csv(tmp_path / "l3.csv", listings))
    assert "1 corrected" in result.output
    assert "1 unchanged" in result.output
    with hub_ctx.sessions() as s:
        last = s.scalars(select(ChangeEvent).order_by(ChangeEvent.seq.desc())).first()
    assert last is not None
    assert (last.type, last.changed_fields) == ("listing.corrected", ["obligation"])


@pytest.mark.parametrize(("suffix", "names"), [
    (".csv", ("bound_persons_1_*", "bound_persons_2_", "bound_persons_3_*")),
    (".jsonl", ("bound_persons[0]", "bound_persons[1].", "bound_persons[2]")),
])
def test_a_bad_line_names_the_field_as_its_file_does(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path, suffix: str,
    names: tuple[str, str, str],
) -> None:
    """CSV columns count bound persons from 1, JSON paths from 0: a CSV error naming
    bound_persons[1] would send the clerk to the wrong person's columns."""
    invoke(runner, "listings", "import", write_jsonl(tmp_path / "l.jsonl", [org_listing()]))
    order = org_restriction()
    lina = order["bound_persons"][0]
    order["bound_persons"] = [
        lina, {"name": "王五", "id_number": "320102197907040242", "role": "boss"}, {**lina}]
    write = write_csv if suffix == ".csv" else write_jsonl
    result = invoke(runner, "restrictions", "import", write(tmp_path / f"r{suffix}", [order]))
    assert result.exit_code == 1
    first, second, third = names
    line = 2 if suffix == ".csv" else 1
    assert f"line {line}: {second}id_number: check digit" in result.output
    assert f"line {line}: {second}role: 'boss' is not one of" in result.output
    assert f"line {line}: {third}: 320102197907040241 is already bound as " \
        f"legal_representative ({first})" in result.output


def test_duplicate_ids_in_one_file_are_refused(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    records = good_listings(2) + good_listings(1)
    result = invoke(runner, "listings", "import", write_jsonl(tmp_path / "d.jsonl", records))
    assert result.exit_code == 1
    assert "line 3: listing_id: L-2024-000001 appears more than once" in result.output


def test_restriction_for_unknown_listing_is_refused(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = invoke(runner, "restrictions", "import",
                    write_jsonl(tmp_path / "r.jsonl", [org_restriction()]))
    assert result.exit_code == 1
    assert "line 1: listing_id: no listing L-2024-000002 exists" in result.output


def test_a_json_lines_file_with_a_byte_order_mark_imports(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """Saved by a Windows editor as "UTF-8 with BOM": its first record was refused as not
    JSON, and so was its rejects file, which kept the mark."""
    src = write_jsonl(tmp_path / "bom.jsonl", good_listings(2))
    src.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    result = invoke(runner, "listings", "import", src)
    assert result.exit_code == 0, result.output
    assert count(hub_ctx, Listing) == 2


def test_a_gb18030_csv_with_its_byte_order_mark_imports(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    text = write_csv(tmp_path / "u.csv", good_listings(2)).read_text(encoding="utf-8")
    src = tmp_path / "g.csv"
    src.write_bytes(("\ufeff" + text).encode("gb18030"))
    assert src.read_bytes().startswith(b"\x84\x31\x95\x33")
    result = invoke(runner, "listings", "import", src, "--encoding", "gb18030")
    assert result.exit_code == 0, result.output
    assert count(hub_ctx, Listing) == 2


def test_broken_json_line_is_reported(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    src = tmp_path / "b.jsonl"
    src.write_bytes(orjson.dumps(person_listing()) + b"\n{not json\n")
    result = invoke(runner, "listings", "import", src)
    assert result.exit_code == 1
    assert "line 2: (line): not valid JSON" in result.output
    assert count(hub_ctx, Listing) == 0


def test_worker_processes_give_the_same_result_as_inline(
    hub_ctx: HubContext, tmp_path: Path
) -> None:
    from hub.services.actors import Actor
    from hub.services.importer import import_records
    from tests.conftest import NOW

    records = good_listings(4500)  # three chunks
    records[3000]["id_number"] = "110105198503150018"
    src = write_jsonl(tmp_path / "many.jsonl", records)
    seen: list[str] = []
    report = import_records(hub_ctx.sessions, src, kind="listing", actor=Actor("cli:t"),
                            now=NOW, workers=2, skip_invalid=True,
                            on_reject=lambda r: seen.append(str(r)))
    assert report.committed
    assert (report.added, report.rejected) == (4499, 1)
    assert seen == [seen[0]]
    assert seen[0].startswith("line 3001: id_number:")
    with hub_ctx.sessions() as s:
        seqs = list(s.scalars(select(ChangeEvent.seq).order_by(ChangeEvent.seq)))
        keys = list(s.scalars(select(ChangeEvent.record_key).order_by(ChangeEvent.seq)))
    assert seqs == list(range(1, 4500))
    assert keys[:3] == ["L-2024-000001", "L-2024-000002", "L-2024-000003"]  # file order


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_bulk_import_refreshes_the_planner_statistics(
        hub_ctx: HubContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "ANALYZE_AFTER", 2)
    path = tmp_path / "l.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for kind, r in demo.generate(
        4, seed=1, today=date(2026, 11, 25)) if kind == "listing"))
    with hub_ctx.engine.connect() as conn:
        before = conn.execute(text("SELECT last_analyze FROM pg_stat_user_tables "
                                   "WHERE relname = 'listings'")).scalar()
    report = importer.import_records(hub_ctx.sessions, path, kind="listing",
                                     actor=Actor("cli:test"), now=datetime.now(UTC))
    assert report.committed
    with hub_ctx.engine.connect() as conn:
        after = conn.execute(text("SELECT last_analyze FROM pg_stat_user_tables "
                                  "WHERE relname = 'listings'")).scalar()
    assert after is not None
    assert before is None or after > before


def test_a_csv_line_that_is_not_utf8_is_a_bad_line_not_a_traceback(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    src = write_csv(tmp_path / "u.csv", good_listings(3))
    lines = src.read_bytes().split(b"\n")
    lines[2] = lines[2].replace("张伟".encode(), "张伟".encode("gb18030"))  # record 2
    src.write_bytes(b"\n".join(lines))
    result = invoke(runner, "listings", "import", src)
    assert result.exit_code == 1
    assert "u.csv: line 3: (line): not valid UTF-8 text at byte" in result.output
    assert "--encoding gb18030" in result.output
    assert "1 bad line(s) of 3: nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert count(hub_ctx, Listing) == 0
    result = invoke(runner, "listings", "import", src, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    assert count(hub_ctx, Listing) == 2


def test_a_gb18030_csv_imports_with_its_encoding_and_names_it_without(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    utf8 = write_csv(tmp_path / "g.csv", good_listings(2))
    # A quoted cell spanning two physical lines: its record is the line it starts on.
    records = utf8.read_text(encoding="utf-8").replace(
        "偿还借款本金", '"偿还借款\n本金', 1).replace("及利息,", '及利息",', 1)
    src = tmp_path / "g18030.csv"
    src.write_bytes(records.encode("gb18030"))
    refused = invoke(runner, "listings", "import", src)
    assert refused.exit_code == 1
    assert "g18030.csv: line 2: (line): not valid" in refused.output  # lines 2-3: one record
    assert "g18030.csv: line 4: (line): not valid" in refused.output
    result = invoke(runner, "listings", "import", src, "--encoding", "gb18030")
    assert result.exit_code == 0, result.output
    with hub_ctx.sessions() as s:
        obligations = s.scalars(select(Listing.obligation).order_by(Listing.listing_id)).all()
    assert obligations[0].startswith("偿还借款\n本金")


def _unclosed_quote(tmp_path: Path, n: int) -> Path:
    """n listings whose second record opens a quote it never closes."""
    src = write_csv(tmp_path / "q.csv", good_listings(n))
    lines = src.read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2].replace("偿还借款本金", '"偿还借款本金', 1)
    src.write_text("\n".join(lines), encoding="utf-8")
    return src


def test_a_quote_that_never_closes_names_the_line_it_opens_on(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = invoke(runner, "listings", "import", _unclosed_quote(tmp_path, 6))
    assert result.exit_code == 1
    assert "a quoted cell opened on line 3 runs on to line 7: a closing quote may be " \
        "missing" in result.output
    assert count(hub_ctx, Listing) == 0


def test_a_quote_that_swallows_the_next_record_names_both_lines_and_imports_nothing(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """A naive exporter opens a quote in every obligation and never closes it: each quote
    closes the one before, and two records read as one with the header's cell count, the
    second person's ID number inside the first's obligation."""
    src = write_csv(tmp_path / "s.csv", good_listings(4))
    src.write_text(src.read_text(encoding="utf-8").replace(",偿还借款本金", ',"偿还借款本金'),
                   encoding="utf-8")
    result = invoke(runner, "listings", "import", src)
    assert result.exit_code == 1
    assert result.output.count("which reads as a record of its own") == 2
    assert ("s.csv: line 2: obligation: a quote opened here swallows line 3, which reads as "
            "a record of its own; close the quote") in result.output
    assert "s.csv: line 4: obligation: a quote opened here swallows line 5" in result.output
    assert count(hub_ctx, Listing) == 0


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_text_with_line_breaks_imports_in_any_column(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path, where: str
) -> None:
    """RFC 4180 line breaks in a quoted cell are text, wherever its column stands: first
    (its last line then has the header's cell count), in the middle, or last."""
    records = good_listings(3)
    records[1]["obligation"] = "偿还借款本金人民币50000元\n及利息\n（分期）"
    rows = [flatten_record(r) for r in records]
    names = sorted(set(rows[0]) - {"obligation"})
    names.insert({"first": 0, "middle": len(names) // 2, "last": len(names)}[where], "obligation")
    with (tmp_path / "m.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    result = invoke(runner, "listings", "import", tmp_path / "m.csv")
    assert result.exit_code == 0, result.output
    with hub_ctx.sessions() as s:
        listing = s.get(Listing, "L-2024-000002")
        assert listing is not None
        assert listing.obligation == "偿还借款本金人民币50000元\n及利息\n（分期）"


def test_a_multi_line_record_is_named_by_the_line_it_starts_on(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    records = good_listings(2)
    records[0]["obligation"] = "第一行\n第二行\n第三行"
    del records[0]["name"]
    result = invoke(runner, "listings", "import", write_csv(tmp_path / "n.csv", records))
    assert result.exit_code == 1
    assert "n.csv: line 2: name: is required" in result.output  # lines 2-4: one record
    assert "line 4" not in result.output


@pytest.mark.parametrize("skip", [False, True])
def test_a_quote_that_swallows_the_file_stops_the_import_without_a_traceback(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path, skip: bool
) -> None:
    """Past the csv module's cell limit the reader raises: where a record ends is lost,
    so the import stops there, --skip-invalid or not, and leaves no rejects behind."""
    src = _unclosed_quote(tmp_path, 800)
    result = invoke(runner, "listings", "import", src, *(["--skip-invalid"] if skip else []))
    assert result.exit_code == 1
    assert "q.csv: line 3: a cell over 131072 characters: most likely a quote opened " \
        "there never closes; nothing after it can be read" in result.output
    assert "Traceback" not in result.output
    assert count(hub_ctx, Listing) == 0
    assert [p.name for p in tmp_path.glob("q*")] == ["q.csv"]


def test_a_csv_header_that_is_not_text_stops_the_import(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    src = tmp_path / "h.csv"
    src.write_bytes("名称,listing_id\n".encode("gb18030") + b"x,L-1\n")
    result = invoke(runner, "listings", "import", src)
    assert result.exit_code != 0
    assert "(header): line 1: not valid UTF-8 text" in result.output
    assert "Traceback" not in result.output
    assert count(hub_ctx, Listing) == 0


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_record_another_writer_adds_meanwhile_is_a_conflict_not_a_traceback(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    records = good_listings(3)
    src = write_jsonl(tmp_path / "c.jsonl", records)
    # A clerk's session holds L-2024-000002, uncommitted: the import's lookups cannot
    # see it, and its COPY waits on that key until the clerk commits, a second later.
    clerk = hub_ctx.sessions()
    clerk.begin()
    registry.add_listing(clerk, records[1], actor=Actor("staff:wang", "京0105"),
                         now=datetime.now(UTC))
    commit = threading.Timer(1.0, clerk.commit)
    commit.start()
    try:
        result = invoke(runner, "listings", "import", src)
    finally:
        commit.join()
        clerk.close()
    assert result.exit_code == 1, result.output
    assert "c.jsonl: another import or a clerk wrote a record of this file" in result.output
    assert "Key (listing_id)=(L-2024-000002) already exists" in result.output
    assert "Traceback" not in result.output
    assert count(hub_ctx, Listing) == 1  # the clerk's; nothing of the import
    again = invoke(runner, "listings", "import", src)
    assert again.exit_code == 0, again.output
    assert "2 added, 0 corrected, 1 unchanged" in again.output


@pytest.mark.parametrize(("args", "says"), [
    (["--encoding", "nosuchenc"], "--encoding"),
    (["--encoding", "utf-16"], "--encoding"),  # lines are split before they are decoded
    (["--correction-reason", "bogus"], "--correction-reason"),
])
def test_a_bad_option_is_a_usage_error_before_any_line_is_read(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path, args: list[str], says: str
) -> None:
    result = invoke(runner, "listings", "import", write_csv(tmp_path / "o.csv",
                                                           good_listings(2)), *args)
    assert result.exit_code == 2
    assert says in result.output
    assert "line 1" not in result.output
    assert count(hub_ctx, Listing) == 0


def test_json_lines_are_utf8_and_say_so(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    src = tmp_path / "g.jsonl"
    src.write_bytes(orjson.dumps(good_listings(1)[0]).decode().encode("gb18030") + b"\n")
    refused = invoke(runner, "listings", "import", src, "--encoding", "gb18030")
    assert refused.exit_code == 2
    assert "JSON Lines are UTF-8" in refused.output
    result = invoke(runner, "listings", "import", src)
    assert result.exit_code == 1
    assert "g.jsonl: line 1: (line): not valid UTF-8 text at byte" in result.output
    assert "JSON Lines are UTF-8: convert a GB18030 file first" in result.output


def test_a_bom_is_skipped_when_utf8_is_named(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    src = write_csv(tmp_path / "b.csv", good_listings(2))
    src.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    result = invoke(runner, "listings", "import", src, "--encoding", "utf-8")
    assert result.exit_code == 0, result.output
    assert count(hub_ctx, Listing) == 2


@pytest.mark.parametrize(("rename", "says"), [
    ({"obligation": "name"}, "column 'name' appears twice"),
    ({"id_number": "idnumber"}, "'idnumber': unknown field"),
    ({"legal_representative_name": "legal_representative_nam"},
     "'legal_representative_nam': unknown field"),
])
def test_a_header_problem_is_said_once_and_imports_nothing(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path, rename: dict[str, str],
    says: str
) -> None:
    records = good_listings(50)
    for r in records:
        r["legal_representative"] = {"name": "王五", "id_number": "320102197907040241"}
    src = write_csv(tmp_path / "h.csv", records)
    head, _, rest = src.read_text(encoding="utf-8").partition("\n")
    names = [rename.get(n, n) for n in head.split(",")]
    src.write_text(",".join(names) + "\n" + rest, encoding="utf-8")
    result = invoke(runner, "listings", "import", src, "--skip-invalid")
    assert result.exit_code == 1
    assert says in result.output
    assert result.output.count("h.csv") <= 2  # once, not once a line
    assert count(hub_ctx, Listing) == 0


@pytest.mark.parametrize(("name", "content"), [("e.jsonl", b""), ("e.csv", b"listing_id,name\n")])
def test_a_file_without_records_imports_nothing_and_says_so(
    hub_ctx: HubContext, runner: FlaskCliRunner, tmp_path: Path, name: str, content: bytes
) -> None:
    (tmp_path / name).write_bytes(content)
    result = invoke(runner, "listings", "import", tmp_path / name)
    assert result.exit_code == 0, result.output
    assert f"warning: {name} holds no records" in result.stderr
    assert count(hub_ctx, ChangeEvent) == 0
