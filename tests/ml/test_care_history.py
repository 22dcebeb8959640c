"""The care history of a contact counts only what the club knew when it made the contact."""

from __future__ import annotations

import duckdb
import pandas as pd

from models_ml import features as F


def test_a_contacts_history_counts_only_answers_received_before_it(features_build) -> None:
    with duckdb.connect(str(features_build), read_only=True) as connection:
        rows = F.care_training_rows(connection)
        contacts = connection.execute(
            """
            select care_contact_id, member_no, contact_channel, status, contacted_at,
                   responded_at
            from core.fct_care_contacts
            where member_no is not null and status in ('sent', 'failed', 'control')
            """
        ).df()
        window = pd.Timedelta(days=F.horizons(connection)["care_response_days"])
    sent = contacts[contacts["status"] == "sent"]
    answered = sent[
        sent["responded_at"].notna() & (sent["responded_at"] < sent["contacted_at"] + window)
    ]
    by_id = contacts.set_index("care_contact_id")
    sample = rows.sample(n=min(400, len(rows)), random_state=3)
    checked = 0
    for row in sample.itertuples():
        contact = by_id.loc[row.care_contact_id]
        at = contact["contacted_at"]
        mine = sent[(sent["member_no"] == row.member_no) & (sent["contacted_at"] < at)]
        known = answered[(answered["member_no"] == row.member_no) & (answered["responded_at"] < at)]
        channel = contact["contact_channel"]
        assert row.contacts_before == len(mine)
        assert row.responses_before == len(known)
        assert row.channel_contacts_before == (mine["contact_channel"] == channel).sum()
        assert row.channel_responses_before == (known["contact_channel"] == channel).sum()
        checked += row.responses_before > 0
    assert checked > 10  # the sample holds members with answered contacts before
    # an answer that arrives after the next contact is not known to that contact yet
    assert (rows["responses_before"] <= rows["contacts_before"]).all()
