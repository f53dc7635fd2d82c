"""Personal links share one token format and one guessing policy (engage/links.py)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from engage import links


def test_a_new_token_is_random_and_only_its_hash_is_kept() -> None:
    first, first_hash = links.new_token()
    second, _ = links.new_token()
    assert first != second and len(first) == 22
    assert first_hash == links.token_hash(first) and first not in first_hash
    assert links.token_hash("\ud800") != links.token_hash("x")  # a lone surrogate hashes, matches nothing


def test_a_link_is_the_base_address_the_kind_and_the_token() -> None:
    assert (
        links.url("https://engage.example/", links.LinkKind.BALLOT, "abc") == "https://engage.example/b/abc"
    )


def test_an_address_that_keeps_missing_is_refused_on_every_personal_link(
    client: TestClient[Litestar],
) -> None:
    kinds = [kind.value for kind in links.LinkKind]
    for n in range(links.MISSES_PER_ADDRESS - 1):
        assert client.get(f"/{kinds[n % len(kinds)]}/no-such-token-{n}").status_code == 404
    assert client.get("/").status_code == 200  # other pages never count
    assert client.get("/api/v1/ballots/no-such-token").status_code == 404  # the last miss allowed
    for path in ("/e/another", "/j/1-AAAAAAAAAAAA", "/api/v1/scores/x"):
        refused = client.get(path)
        assert refused.status_code == 429, path
        assert int(refused.headers["Retry-After"]) > 0
    assert client.get("/").status_code == 200
