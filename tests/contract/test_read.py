"""Every connector reads the seeded accounts and opportunities into the same canonical values."""

from __future__ import annotations

from contract.harness import ACCOUNTS, OPPORTUNITIES, CrmUnderTest

ACCOUNT_FIELDS = ("name", "domain", "industry", "employees", "annual_revenue", "country")


def test_reads_every_seeded_account_with_its_canonical_values(crm: CrmUnderTest) -> None:
    accounts, _ = crm.read()
    seeded = {crm.account_id(a.id): a for a in crm.data.iter_accounts()}

    assert len(accounts) == ACCOUNTS
    assert {a.id for a in accounts} == set(seeded)
    for account in accounts:
        seed = seeded[account.id]
        assert {f: getattr(account, f) for f in ACCOUNT_FIELDS} == {
            f: getattr(seed, f) for f in ACCOUNT_FIELDS
        }, account.id
        assert account.tech_stack == seed.tech_stack, account.id
        assert account.current.score is None and account.current.tier is None


def test_reads_every_seeded_opportunity_linked_to_its_account(crm: CrmUnderTest) -> None:
    _, opportunities = crm.read()
    seeded = {crm.opportunity_id(o.id): o for o in crm.data.iter_opportunities()}

    assert len(opportunities) == OPPORTUNITIES
    assert {o.id for o in opportunities} == set(seeded)
    for opp in opportunities:
        seed = seeded[opp.id]
        assert seed.account_id is not None
        assert opp.account_id == crm.account_id(seed.account_id), opp.id
        assert (opp.is_closed, opp.is_won, opp.amount, opp.created) == (
            seed.is_closed,
            seed.is_won,
            seed.amount,
            seed.created,
        ), opp.id
        # Open deals carry each CRM's own stage names (and Salesforce an expected close
        # date); a closed deal's outcome and date are the same everywhere.
        if seed.is_closed:
            assert (opp.stage, opp.closed) == (seed.stage, seed.closed), opp.id
    won = sum(o.is_won for o in opportunities)
    assert 0 < won < sum(o.is_closed for o in opportunities)
