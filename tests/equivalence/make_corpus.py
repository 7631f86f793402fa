"""Make the stored equivalence corpus from a released commit of icpsync.

    python tests/equivalence/make_corpus.py [--release COMMIT]

The corpus is the release's answers to fixed inputs: ``icpsync score`` on files (output,
rejects, summary, JSON report), ``Normaliser.account`` / ``.opportunity`` on raw records,
``Scorer.score`` / ``score_many`` on canonical accounts, and what a full sync writes to the
Salesforce and HubSpot sandboxes. The tests in this folder run the code of the checkout on
the same inputs and require the same answers.

How it is made: the release's tree is taken with ``git archive COMMIT`` into a temporary
folder, and this script runs again (``--worker``) with that tree first on ``PYTHONPATH``,
so every answer comes from the release's code (the worker checks where ``icpsync`` was
imported from). The inputs come from fixed seeds (``corpus_inputs.py``, the release's
synthetic data, the vendored datasets, the release's own bad-input and export-shape
tests) and are stored beside the answers; the procedures are those of ``runs.py``, which
the tests share.

The stored corpus was made from commit 2e50f52 (see ``corpus/release.json``). Run this
only on purpose: making it again from a newer commit declares that commit's behaviour the
one to keep, so do it for a behaviour change that was meant, and say so in the commit.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
RELEASE = "2e50f52"
#: files larger than this are stored gzipped (``NAME.gz``).
GZIP_ABOVE = 32_000
#: the scorer's clock.
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
#: the syncs' clock.
SYNC_NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SYNC_BOOK = {"accounts": 1500, "opportunities": 4500, "seed": 7}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", default=RELEASE, help="the commit whose answers to store")
    parser.add_argument("--out", type=Path, default=CORPUS, help="where the corpus goes")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        Worker(args.worker, args.out, args.release).make()
        return
    repo = HERE.parents[1]
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", args.release],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="icpsync-release-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", commit], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ICPSYNC_")}
        env["PYTHONPATH"] = f"{tree}{os.pathsep}{tree / 'tests'}"
        subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree),
             "--out", str(args.out.resolve()), "--release", commit],
            check=True,
            cwd=tmp,
            env=env,
        )  # fmt: skip


def store(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, gzipped as ``path.gz`` when large."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(data) > GZIP_ABOVE:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    else:
        path.write_bytes(data)
    return path


class Worker:
    """Runs under the release's code and writes the corpus."""

    def __init__(self, tree: Path, out: Path, commit: str):
        import icpsync

        where = Path(icpsync.__file__).resolve()
        if not where.is_relative_to(tree.resolve()):
            raise SystemExit(f"icpsync was imported from {where}, not the release at {tree}")
        sys.path.append(str(HERE.parent))  # ``equivalence.*`` (after the release's tests)
        self.tree, self.out, self.commit = tree, out, commit
        self.scratch = Path(tempfile.mkdtemp(prefix="icpsync-corpus-"))
        self._pool: dict[str, str] = {}

    def make(self) -> None:
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        self.profiles()
        self.score_cases()
        self.normaliser_sets()
        self.scorer_sets()
        self.syncs()
        release = {
            "commit": self.commit,
            "made_by": "python tests/equivalence/make_corpus.py --release " + self.commit,
            "as_of": AS_OF.isoformat(),
            "sync_now": SYNC_NOW.isoformat(),
        }
        (self.out / "release.json").write_text(json.dumps(release, indent=1) + "\n")
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- profiles ----------------------------------------------------------------------

    def profiles(self) -> None:
        """The release's default profile, a learned one (with anti-ICP rules switched on),
        one with every kind of condition, and the small ones of the input tests."""
        folder = self.out / "profiles"
        folder.mkdir()
        shutil.copyfile(self.tree / "icpsync/core/profiles/default.toml", folder / "default.toml")
        from equivalence.corpus_inputs import KITCHEN_PROFILE, LEARNED_ANTI

        (folder / "kitchen.toml").write_text(KITCHEN_PROFILE.lstrip(), encoding="utf-8")
        books = self.scratch / "learn"
        books.mkdir()
        from synthetic_files import write_synthetic  # the release's

        accounts, opportunities = write_synthetic(books, 3000, 9000, 11)
        learned = books / "learned.toml"
        from equivalence import runs

        run = runs.icpsync(
            books,
            ["learn", "--accounts", accounts.name, "--opportunities", opportunities.name,
             "--out", learned.name],
        )  # fmt: skip
        assert run["exit_code"] == 0, run
        text = learned.read_text(encoding="utf-8") + LEARNED_ANTI
        (folder / "learned.toml").write_text(text, encoding="utf-8")
        from test_real_inputs import PROFILE as NAMES  # the release's

        (folder / "names.toml").write_text(NAMES.lstrip(), encoding="utf-8")
        signals = {
            "profile": {
                "name": "signals",
                "criteria": [
                    {"id": "client", "field": "signals.client", "in": ["Current"], "points": 40},
                    {"id": "big", "field": "employees", "at_least": 500, "points": 30},
                    {"id": "no_region", "field": "region", "is_missing": True, "points": 10},
                    {"id": "referral", "field": "signals.source", "in": ["Referral"],
                     "points": 20},
                    {"id": "stack", "field": "tech_stack", "contains_all": ["Gong"],
                     "points": 25},
                ],
                "anti": [
                    {"id": "edu", "field": "industry", "not_in": ["Education"],
                     "effect": "penalty", "points": 5},
                    {"id": "lost", "field": "signals.client", "in": ["Lost"],
                     "effect": "cap", "cap": "Tier 3"},
                ],
            }
        }  # fmt: skip
        (folder / "signals.toml").write_text(_toml(signals), encoding="utf-8")
        from icpsync.core.profile import load_profile

        for path in folder.glob("*.toml"):
            load_profile(path)  # every stored profile loads

    # -- icpsync score -----------------------------------------------------------------

    def score_cases(self) -> None:
        from equivalence import runs
        from icpsync.core.profile import load_profile

        root = self.out / "score"
        for name, files, profile in self._score_inputs():
            folder = self.scratch / "score" / name
            folder.mkdir(parents=True)
            for file_name, data in files.items():
                (folder / file_name).write_bytes(data)
            args = ["score", "--accounts", next(iter(files))]
            if "opportunities.csv" in files:
                args += ["--opportunities", "opportunities.csv"]
            if profile is not None:
                args += ["--profile", profile]
                shutil.copyfile(self.out / "profiles" / profile, folder / profile)
                clock = [c.field for c in load_profile(folder / profile).criteria]
                assert "days_since_last_win" not in clock, "the CLI reads the wall clock"
            args += ["--out", "out.csv", "--rejects", "rejects.csv"]
            run = runs.icpsync(folder, args)
            if run["exit_code"]:
                # a refused file leaves the rejects file open (the release leaks it, and a
                # test run would fail on the ResourceWarning): refused cases go without
                args = args[:-2]
                for made in ("out.csv", "rejects.csv", ".rejects.csv.tmp"):
                    (folder / made).unlink(missing_ok=True)
                run = runs.icpsync(folder, args)
            case = {"args": args, "inputs": {}, **run}
            expected = {}
            for made in ("out.csv", "rejects.csv"):
                if (folder / made).exists():
                    expected[made] = (folder / made).read_bytes()
                    (folder / made).unlink()
            case["report"] = runs.score_report(folder, args)
            target = root / name
            for file_name, data in files.items():
                case["inputs"][file_name] = self._pooled(
                    root / "inputs", f"{name}-{file_name}", data
                )
            case["expected"] = {
                made: store(target / "expected" / made, data).name
                for made, data in expected.items()
            }
            target.mkdir(parents=True, exist_ok=True)
            (target / "case.json").write_text(json.dumps(case, indent=1) + "\n")

    def _pooled(self, pool: Path, name: str, data: bytes) -> str:
        """Store an input file once however many cases read it; its stored name."""
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self._pool:
            self._pool[digest] = store(pool / name, data).name
        return self._pool[digest]

    def _score_inputs(self) -> list[tuple[str, dict[str, bytes], str | None]]:
        """(case, input files by name (accounts first), profile file or None)."""
        from synthetic_files import write_synthetic  # the release's

        books = self.scratch / "books"
        books.mkdir()
        accounts, opportunities = write_synthetic(books, 3000, 9000, 11)
        synthetic = {
            "accounts.csv": accounts.read_bytes(),
            "opportunities.csv": opportunities.read_bytes(),
        }
        cases: list[tuple[str, dict[str, bytes], str | None]] = [
            ("synthetic-default", synthetic, None),
            ("synthetic-learned", synthetic, "learned.toml"),
            ("synthetic-kitchen", synthetic, "kitchen.toml"),
            ("overrides-kitchen", {**synthetic, "accounts.csv": _with_icp_columns(accounts)},
             "kitchen.toml"),
            ("overrides-learned", {**synthetic, "accounts.csv": _with_icp_columns(accounts)},
             "learned.toml"),
        ]  # fmt: skip
        from equivalence.corpus_inputs import junk_csv

        junk = junk_csv(random.Random(3), 3000).encode("utf-8")
        cases += [
            ("junk-default", {"accounts.csv": junk}, None),
            ("junk-signals", {"accounts.csv": junk}, "signals.toml"),
            ("distinct-values", {"accounts.csv": _distinct_values(25_000)}, None),
        ]
        from equivalence.corpus_inputs import random_header_csv

        rng = random.Random(5)
        for index in range(16):
            text = random_header_csv(rng).encode("utf-8")
            profile = "signals.toml" if index % 2 else None
            cases.append((f"random-header-{index:02d}", {"accounts.csv": text}, profile))
        data = self.tree / "tests" / "data"
        for dataset in ("maven-crm", "salvirt-b2b"):
            files = {
                "accounts.csv": (data / dataset / "accounts.csv").read_bytes(),
                "opportunities.csv": (data / dataset / "opportunities.csv").read_bytes(),
            }
            cases.append((f"{dataset}-default", files, None))
            cases.append((f"{dataset}-signals", files, "signals.toml"))
        import test_real_inputs as shapes  # the release's

        for shape, header, delimiter, encoding, _ in shapes.SHAPES:
            path = shapes.write_csv(
                self.scratch / f"{shape}.csv", header, delimiter=delimiter, encoding=encoding
            )
            cases.append((f"shape-{shape}", {"accounts.csv": path.read_bytes()}, "names.toml"))
        import test_bad_input_corpus as bad  # the release's

        for file_name, content, _, _ in bad.BAD_FILES:
            cases.append((f"file-{file_name.replace('.', '-')}", {file_name: content}, None))
        cases.append(("malformed-jsonl", {"accounts.jsonl": _malformed_jsonl(bad)}, None))
        return cases

    # -- the normaliser ----------------------------------------------------------------

    def normaliser_sets(self) -> None:
        from equivalence import corpus_inputs as draw
        from equivalence import runs
        from icpsync.engine.field_map import load_field_map

        def vocabularies(crm: str) -> dict[str, Any]:
            return {
                name: {"values": dict(v.values), "keep_unknown": v.keep_unknown}
                for name, v in load_field_map(crm).vocabularies.items()
            }

        small = {
            "industry": {"values": {"Tech": "Technology"}, "keep_unknown": False},
            "country": {"values": {"US": "United States"}, "keep_unknown": True},
            "tech_stack": {"values": {"salesforce": "Salesforce", "Gong": "Gong"},
                           "keep_unknown": False},
            "stage": {"values": {"12": "Won"}, "keep_unknown": False},
        }  # fmt: skip
        rng = random.Random(17)
        random_accounts = [draw.random_raw(rng, draw.ACCOUNT_KEYS) for _ in range(1500)]
        sf_columns = ["name", "domain", "industry", "employees", "annual_revenue", "country",
                      "region", "tech_stack", "last_modified", "icp_score", "icp_tier",
                      "icp_tier_override", "icp_scored_at"]  # fmt: skip
        bulk = [draw.bulk_csv_record(rng, i, sf_columns) for i in range(800)]
        rest = [draw.rest_json_record(rng, i) for i in range(800)]
        import test_bad_input_corpus as bad  # the release's

        malformed = [r for r in bad.MALFORMED_ACCOUNTS if isinstance(r, dict)]
        deals = [draw.opportunity_record(rng, i) for i in range(600)]
        deals += [draw.random_raw(rng, draw.OPPORTUNITY_KEYS) for _ in range(600)]
        sets = {
            "random-accounts-dedupe": ("account", True, small, random_accounts * 2),
            "random-accounts-no-dedupe": ("account", False, small, random_accounts * 2),
            "salesforce-bulk-csv": ("account", True, vocabularies("salesforce"), bulk * 2),
            "salesforce-rest-json": ("account", True, vocabularies("salesforce"), rest),
            "hubspot-json": ("account", False, vocabularies("hubspot"), rest * 2),
            "malformed": ("account", True, vocabularies("file"), malformed),
            "opportunities": ("opportunity", False, small, deals * 2),
            "opportunities-salesforce": ("opportunity", False, vocabularies("salesforce"), deals),
        }
        from equivalence.codec import encode

        for name, (kind, dedupe, vocab, records) in sets.items():
            spec = {"kind": kind, "dedupe": dedupe, "vocabularies": vocab,
                    "records": [encode(r) for r in records]}  # fmt: skip
            spec["expected"] = runs.normalise(spec, rejects=True)
            quiet = runs.normalise(spec, rejects=False)
            assert quiet == [
                {k: v for k, v in r.items() if k != "rejects"} for r in spec["expected"]
            ]
            store(self.out / "normalise" / f"{name}.json", _json(spec))

    # -- the scorer --------------------------------------------------------------------

    def scorer_sets(self) -> None:
        from equivalence import corpus_inputs as draw
        from equivalence import runs
        from equivalence.codec import encode
        from icpsync.core.profile import Profile, load_profile
        from icpsync.core.synthetic import SyntheticData

        rng = random.Random(29)
        cases = []
        while len(cases) < 300:
            data = draw.random_profile(rng)
            try:
                profile = Profile.model_validate(data)
            except ValueError:
                continue  # not a profile the release accepts: not a case
            batch = [
                {"account": encode(draw.random_account(rng, rng.choice("ABC"))),
                 "aggregates": encode(draw.random_aggregates(rng))}
                for _ in range(rng.randint(1, 12))
            ]  # fmt: skip
            cases.append({"profile": data, "cases": batch,
                          "expected": _scored(runs, profile, batch)})  # fmt: skip
        cases.append(self._conflation_case(runs))
        store(self.out / "scoring" / "random-profiles.json", _json(cases))

        book = SyntheticData(accounts=2000, opportunities=6000, seed=23)
        from icpsync.core.aggregates import AggregateBuilder

        builder = AggregateBuilder()
        for opp in book.iter_opportunities():
            builder.add(opp)
        aggregates = builder.result()
        accounts = []
        for index, account in enumerate(book.iter_accounts()):
            fields = {
                "id": account.id, "name": account.name, "domain": account.domain,
                "industry": account.industry, "employees": account.employees,
                "annual_revenue": account.annual_revenue, "country": account.country,
                "region": account.region, "tech_stack": account.tech_stack,
                "signals": dict(account.signals),
                "current": {"override": [None, None, None, None, "Tier 1", "Not ICP",
                                         "Tier 9"][index % 7]},
            }  # fmt: skip
            agg = aggregates.get(account.id)
            accounts.append(
                {"account": encode(fields),
                 "aggregates": encode({f: getattr(agg, f) for f in _AGGREGATES} if agg else {})}
            )  # fmt: skip
        for name in ("default", "learned", "kitchen"):
            profile = load_profile(self.out / "profiles" / f"{name}.toml")
            expected = _scored(runs, profile, accounts)
            spec = {"profile": f"{name}.toml", "cases": accounts, "expected": expected}
            store(self.out / "scoring" / f"book-{name}.json", _json(spec))

    def _conflation_case(self, runs: Any) -> dict[str, Any]:
        """Values that are equal but print differently (0.0 and -0.0, 1 and True) keep
        their own text in the reasons."""
        from equivalence.codec import encode
        from icpsync.core.profile import Profile

        data = {
            "criteria": [
                {"id": "r", "field": "annual_revenue", "in": [0, 1], "points": 10},
                {"id": "s", "field": "signals.flag", "in": [1], "points": 10},
            ]
        }
        batch = [
            {"account": encode({"id": f"A{i}", "annual_revenue": revenue,
                                "signals": {"flag": flag}}),
             "aggregates": encode({})}
            for i, (revenue, flag) in enumerate(
                [(0.0, 1), (-0.0, True), (1.0, 1.0), (0.0, True), (-0.0, 1)]
            )
        ]  # fmt: skip
        expected = _scored(runs, Profile.model_validate(data), batch)
        reasons = " ".join(s["reasons"] for s in expected)
        assert "(-0.0)" in reasons and "(1)" in reasons
        return {"profile": data, "cases": batch, "expected": expected}

    # -- syncs -------------------------------------------------------------------------

    def syncs(self) -> None:
        from equivalence import runs
        from icpsync.core.profile import load_profile

        for crm, profile_name in (("salesforce", "default"), ("hubspot", "kitchen")):
            profile = load_profile(self.out / "profiles" / f"{profile_name}.toml")
            spec = {**SYNC_BOOK, "now": SYNC_NOW.isoformat(), "profile": f"{profile_name}.toml"}
            result = runs.synced(crm, spec, profile, self.scratch / f"state-{crm}")
            assert result["second_run_writes"] == {}, "a re-sync wrote"
            store(self.out / "sync" / f"{crm}.json", _json({"spec": spec, "expected": result}))


_AGGREGATES = ("won_deals", "lost_deals", "open_deals", "open_pipeline", "last_win",
               "sales_cycle_days")  # fmt: skip
ICP_COLUMNS = ("icp_tier_override", "icp_score", "icp_tier", "client", "plan", "intent")


def _scored(runs: Any, profile: Any, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every score of ``cases``; ``score`` and ``score_many`` agree."""
    single, many = runs.scored(profile, cases, AS_OF)
    assert single == many
    return single


def _with_icp_columns(accounts: Path) -> bytes:
    """The accounts file with values the CRM already holds (overrides, some not tiers) and
    signal columns."""
    rng = random.Random(41)
    with accounts.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    choices = (
        ["", "", "", "", "", "Tier 1", "Tier 3", "Anti-ICP", "Not ICP", "Tier 9", "tier 1"],
        ["", "", "45", "100", "abc", "-3"],
        ["", "", "Tier 2", "Anti-ICP", "bogus"],
        ["", "Current", "Former", "Lost"],
        ["", "Free", "Pro", "Enterprise"],
        ["", "", "10", "75", "high", "50.0"],
    )
    rows[0] += ICP_COLUMNS
    for row in rows[1:]:
        row += [rng.choice(c) for c in choices]
    return _csv_bytes(rows)


def _distinct_values(count: int) -> bytes:
    """Canonical rows whose headcounts, revenues and names are all different (more of each
    than any per-value memory holds), with spellings of industries and stacks."""
    rng = random.Random(43)
    industries = ["Technology", "technology", " TECHNOLOGY ", "Finance", "Education", "n/a", ""]
    stacks = ["Salesforce;Outreach", "HubSpot; Gong", "Slack", "", "salesforce", "Pipedrive;;"]
    rows = [["id", "name", "domain", "industry", "employees", "annual_revenue", "country",
             "tech_stack"]]  # fmt: skip
    for i in range(count):
        rows.append(
            [f"D{i:06d}", f"Company {i}", rng.choice(["", f"d{i}.com", "competitor-one.com"]),
             rng.choice(industries), str(i) if i % 5 else rng.choice(["250", "1,200", "n/a", "-5"]),
             f"{(i + 1) * 1003.5:.1f}",
             rng.choice(["USA", "Canada", "Germany", "US", ""]), rng.choice(stacks)]
        )  # fmt: skip
    return _csv_bytes(rows)


def _malformed_jsonl(bad: Any) -> bytes:
    """The release's malformed JSON Lines file (as its bad-input test writes it)."""
    lines = [json.dumps(bad.GOOD)]
    for index, record in enumerate(bad.MALFORMED_ACCOUNTS):
        if isinstance(record, dict) and record.get("id") == "x":
            record = {**record, "id": f"x{index}"}
        lines.append(json.dumps(record, allow_nan=True))
    lines.append('{"id": "truncated", "employees": 5')
    lines.append("<html><head><title>504 Gateway Time-out</title></head></html>")
    lines.append(json.dumps({**bad.GOOD, "id": "good-2"}))
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")


def _csv_bytes(rows: list[list[str]]) -> bytes:
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=True, indent=None, allow_nan=False) + "\n").encode()


def _toml(data: dict[str, Any]) -> str:
    import tomlkit

    text = tomlkit.dumps(data)
    tomllib.loads(text)
    return text


if __name__ == "__main__":
    main()
