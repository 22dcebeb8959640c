"""Review matching on the demo data: the generator's look-alike duplicates are found.

The demo generator writes, for each duplicate application it made, the member it duplicates
and the slips it contains (``truth/duplicates.parquet``). Every duplicate, pending or already
merged, is matched with its own fields (the application itself left out), as a reviewer would
see it. A few duplicates belong to members archived since: those members are never candidates.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from clubcrm.settings import Settings
from operational.matching import find_similar
from operational.models import Application, Member
from operational.names import name_key


def test_generated_name_keys_are_the_pinyin_keys_of_the_names(demo_env: Settings) -> None:
    engine = create_engine(demo_env.database_url)
    try:
        with Session(engine) as session:
            for model in (Member, Application):
                rows = session.execute(select(model.name, model.name_key)).all()
                assert len(rows) >= 2000
                wrong = [(name, key) for name, key in rows if key != name_key(name)]
                assert wrong == [], f"{model.__tablename__}: {wrong[:5]}"
    finally:
        engine.dispose()


def test_the_true_member_is_the_first_candidate_of_its_duplicates(demo_env: Settings) -> None:
    truth = pd.read_parquet(demo_env.truth_dir / "duplicates.parquet")
    assert len(truth) >= 50
    engine = create_engine(demo_env.database_url)
    hits: Counter[tuple[str, str]] = Counter()
    counts: Counter[tuple[str, str]] = Counter()
    try:
        with Session(engine) as session:
            archived = set(
                session.scalars(select(Member.member_no).where(Member.status == "archived"))
            )
            for row in truth.itertuples():
                app = session.get(Application, int(row.application_id))
                assert app is not None and app.status == row.status
                found = find_similar(
                    session,
                    name=app.name,
                    id_number=app.id_number,
                    mobile=app.mobile,
                    home_phone=app.home_phone,
                    email=app.email,
                    birthday=app.birthday,
                    exclude_application_id=app.id,
                    limit=3,
                )
                first = found[0] if found else None
                hit = first is not None and first.kind == "member" and first.label == row.member_no
                member = "archived" if row.member_no in archived else "not archived"
                keys = [("all", "all"), ("status", row.status), ("member", member)]
                keys += [("slips", row.slips)] if member != "archived" else []
                for key in keys:
                    counts[key] += 1
                    hits[key] += hit
                if hit:
                    assert first.reasons, "a candidate without reasons"
    finally:
        engine.dispose()

    def share(key: tuple[str, str]) -> float:
        return hits[key] / counts[key]

    for key in sorted(counts):
        print(f"top-1 {key[0]}={key[1]}: {share(key):.3f} of {counts[key]}")
    assert counts[("status", "pending")] > 0 and counts[("status", "merged")] > 0
    assert share(("all", "all")) >= 0.90
    assert share(("status", "pending")) >= 0.90
    # Archived members are never candidates: only their duplicates may be missed.
    assert share(("member", "not archived")) >= 0.95
