"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from arccm.domain.access import Resource, ResourceKind, Role


def resources(ids: st.SearchStrategy[object]) -> st.SearchStrategy[Resource]:
    """Scope keys of any kind, drawn from ``ids`` (a small pool makes overlaps likely)."""
    return st.builds(
        Resource,
        kind=st.sampled_from(list(ResourceKind)),
        location_id=st.none() | ids,
        provider_id=st.none() | ids,
        created_by=st.none() | ids,
        instructors=st.frozensets(ids, max_size=3),
        lead_instructor=st.none() | ids,
        subject_id=st.none() | ids,
        learners=st.frozensets(ids, max_size=3),
        role=st.none() | st.sampled_from(list(Role)),
        granted_role=st.none() | st.sampled_from(list(Role)),
    )
