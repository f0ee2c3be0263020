"""Who may vote on a gate review, and how votes are recorded and changed."""

import pytest

from domain.errors import InvalidValue, NotAllowed, RuleViolation
from domain.gate_review import Vote
from domain.policy import Actor
from domain.project import Project
from tests.domain.domain_given import BOARD, GATEKEEPER, OUTSIDER, PM, SPONSOR, approve


def test_a_gatekeeper_votes_with_a_rationale_on_the_evidence(under_review: Project) -> None:
    under_review.cast_vote("G0", Vote.REJECT, "Mandate too vague", by=GATEKEEPER, board=BOARD)
    review = under_review.review
    assert review is not None
    vote = review.vote_of("gail")
    assert vote is not None
    assert (vote.voter, vote.cast_by, vote.vote, vote.rationale) == (
        "gail",
        "gail",
        Vote.REJECT,
        "Mandate too vague",
    )
    assert vote.evidence == review.evidence
    assert review.votes_by_voter == {"gail": vote}


def test_pm_cannot_vote_on_own_gate_review(under_review: Project) -> None:
    board_with_pm = type(BOARD)(members=(*BOARD.members, "pat"), chair="cora")
    with pytest.raises(NotAllowed):
        under_review.cast_vote("G0", Vote.APPROVE, "mine", by=PM, board=board_with_pm)


def test_a_delegate_acting_for_the_requester_cannot_vote(under_review: Project) -> None:
    with pytest.raises(NotAllowed):
        under_review.cast_vote(
            "G0", Vote.APPROVE, "ok", by=Actor("gail", on_behalf_of="pat"), board=BOARD
        )


def test_the_requester_cannot_vote_for_a_gatekeeper_who_delegated_to_them(
    under_review: Project,
) -> None:
    with pytest.raises(NotAllowed):
        under_review.cast_vote(
            "G0", Vote.APPROVE, "ok", by=Actor("pat", on_behalf_of="gail"), board=BOARD
        )


def test_the_pm_s_delegate_who_requested_cannot_vote_either(project: Project) -> None:
    project.request_review("G0", (), by=Actor("dan", on_behalf_of="pat"))
    board = type(BOARD)(members=(*BOARD.members, "dan"), chair="cora")
    with pytest.raises(NotAllowed):
        project.cast_vote("G0", Vote.APPROVE, "ok", by=Actor("dan"), board=board)


def test_someone_outside_the_board_cannot_vote(under_review: Project) -> None:
    with pytest.raises(NotAllowed):
        under_review.cast_vote("G0", Vote.APPROVE, "ok", by=OUTSIDER, board=BOARD)


def test_the_sponsor_votes_where_the_policy_makes_them_mandatory(at_g1_review: Project) -> None:
    approve(at_g1_review, "G1", SPONSOR)
    assert at_g1_review.review is not None
    assert at_g1_review.review.vote_of("sam") is not None


def test_the_sponsor_cannot_vote_where_they_are_not_mandatory(under_review: Project) -> None:
    with pytest.raises(NotAllowed):
        approve(under_review, "G0", SPONSOR)


def test_a_delegate_votes_with_the_delegator_s_authority(under_review: Project) -> None:
    under_review.cast_vote(
        "G0", Vote.APPROVE, "ok", by=Actor("dora", on_behalf_of="gail"), board=BOARD
    )
    assert under_review.review is not None
    vote = under_review.review.vote_of("gail")
    assert vote is not None
    assert (vote.voter, vote.cast_by) == ("gail", "dora")


def test_a_vote_needs_a_rationale(under_review: Project) -> None:
    with pytest.raises(InvalidValue, match="rationale"):
        under_review.cast_vote("G0", Vote.APPROVE, " ", by=GATEKEEPER, board=BOARD)


def test_an_unknown_vote_value_is_invalid(under_review: Project) -> None:
    with pytest.raises(InvalidValue):
        under_review.cast_vote("G0", "maybe", "hmm", by=GATEKEEPER, board=BOARD)  # type: ignore[arg-type]


def test_votes_need_an_open_review(project: Project) -> None:
    with pytest.raises(RuleViolation, match="no review"):
        approve(project, "G0", GATEKEEPER)


def test_a_vote_can_be_changed_and_the_latest_counts(under_review: Project) -> None:
    under_review.cast_vote("G0", Vote.REJECT, "Not yet", by=GATEKEEPER, board=BOARD)
    under_review.cast_vote("G0", Vote.APPROVE, "Now convinced", by=GATEKEEPER, board=BOARD)
    review = under_review.review
    assert review is not None
    assert len(review.votes) == 1
    assert review.vote_of("gail").vote is Vote.APPROVE  # type: ignore[union-attr]
    names = [type(e).__name__ for e in under_review.collect_events()]
    assert names[-2:] == ["VoteCast", "VoteChanged"]


def test_repeating_an_identical_vote_records_nothing(under_review: Project) -> None:
    under_review.cast_vote("G0", Vote.APPROVE, "ok", by=GATEKEEPER, board=BOARD)
    version = under_review.version
    under_review.cast_vote(
        "G0", Vote.APPROVE, "ok", by=Actor("gail", correlation_id="other"), board=BOARD
    )
    assert under_review.version == version
    names = [type(e).__name__ for e in under_review.collect_events()]
    assert names.count("VoteCast") == 1 and "VoteChanged" not in names


@pytest.mark.parametrize(
    ("vote", "rationale", "actor"),
    [
        (Vote.REJECT, "ok", GATEKEEPER),
        (Vote.APPROVE, "ok, really", GATEKEEPER),
        (Vote.APPROVE, "ok", Actor("dora", on_behalf_of="gail")),
    ],
    ids=["vote", "rationale", "typed-by-a-delegate"],
)
def test_a_vote_that_differs_in_anything_is_a_change(
    under_review: Project, vote: Vote, rationale: str, actor: Actor
) -> None:
    under_review.cast_vote("G0", Vote.APPROVE, "ok", by=GATEKEEPER, board=BOARD)
    under_review.cast_vote("G0", vote, rationale, by=actor, board=BOARD)
    names = [type(e).__name__ for e in under_review.collect_events()]
    assert names[-2:] == ["VoteCast", "VoteChanged"]
