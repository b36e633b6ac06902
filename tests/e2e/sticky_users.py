"""Many distinct users calling the model router, each several times, and the version that answered
each call (the router's `X-ModelRollout-Version`): what a sticky split is judged on."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections import Counter
from dataclasses import dataclass

import aiohttp

VERSION_HEADER = "X-ModelRollout-Version"


@dataclass(frozen=True)
class UserAnswers:
    """Per user, the versions that answered their calls, in order; and every call's status."""

    versions: dict[str, tuple[str, ...]]
    statuses: Counter[int]

    def pinned(self) -> dict[str, str]:
        """Each user's version; AssertionError naming the users answered by more than one."""
        moved = {user: seen for user, seen in self.versions.items() if len(set(seen)) != 1}
        assert not moved, (
            f"{len(moved)} users answered by more than one version, e.g. {list(moved.items())[:5]}"
        )
        return {user: seen[0] for user, seen in self.versions.items()}

    def share(self, version: str) -> float:
        pinned = self.pinned()
        return sum(1 for answered in pinned.values() if answered == version) / len(pinned)


def ask_as_users(url: str, model: str, header: str, users: list[str], repeats: int = 2) -> UserAnswers:
    """Each user's `repeats` predictions through the router at `url`, 32 calls in flight."""
    return asyncio.run(_ask(url, model, header, users, repeats))


async def _ask(url: str, model: str, header: str, users: list[str], repeats: int) -> UserAnswers:
    answers: dict[str, list[str]] = {user: [] for user in users}
    statuses: Counter[int] = Counter()
    slots = asyncio.Semaphore(32)
    endpoint = f"{url}/v1/models/{model}:predict"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(user: str) -> None:
            async with (
                slots,
                session.post(endpoint, json={"instances": [[0.5] * 8]}, headers={header: user}) as got,
            ):
                await got.read()
                statuses[got.status] += 1
                answers[user].append(got.headers.get(VERSION_HEADER, "unknown"))

        for _ in range(repeats):  # every user's first call before anyone's second
            await asyncio.gather(*(one(user) for user in users))
    return UserAnswers({user: tuple(seen) for user, seen in answers.items()}, statuses)


def served_split(url: str, model: str) -> dict[str, tuple[float, int]]:
    """What the router serves now (its model status, `GET /v1/models/<model>`): per version, its
    weight and ready pods; empty while it has no configuration."""
    try:
        with urllib.request.urlopen(f"{url}/v1/models/{model}", timeout=5) as response:
            versions = json.loads(response.read())["versions"]
    except OSError:
        return {}
    return {name: (state["weight"], state["readyPods"]) for name, state in versions.items()}
