"""Sharding by label selector (`--selector`): several operators in one namespace, each serving
the ModelRollouts its selector selects.

Each shard holds a finalizer of its own. kopf takes its finalizer off every object none of its
handlers select (`process_resource_causes`: "no handlers requiring it"), so two shards sharing
one name would take each other's off, and a deleted rollout could go before its shard handed the
traffic back. With a name per shard, a rollout relabelled into another shard loses the old
shard's finalizer that same way and gains the new one's.

A finalizer nobody holds any more (the unsharded operator's, or a shard's whose selector was
rewritten) would keep its rollouts from ever being deleted: the shard that serves a rollout
takes such leftovers off, since shards do not overlap and no other operator can be holding them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from ..k8s import KubeClient, KubeError, canonical_selector

log = logging.getLogger("modelrollout.shards")

UNSHARDED_FINALIZER = "modelrollout.io/finalizer"


def shard_finalizer(selector: str | None) -> str:
    """The finalizer of the shard `selector` serves; the same for two spellings of one selector,
    so rewriting the flag's text without changing its meaning leaves every finalizer valid."""
    if selector is None:
        return UNSHARDED_FINALIZER
    digest = hashlib.sha256(canonical_selector(selector).encode()).hexdigest()[:12]
    return f"{UNSHARDED_FINALIZER}-{digest}"


def foreign_finalizers(finalizers: Iterable[str], own: str) -> list[str]:
    """The operator's finalizers on a rollout other than `own` (other owners' finalizers kept)."""
    return [
        name
        for name in finalizers
        if name != own and (name == UNSHARDED_FINALIZER or name.startswith(f"{UNSHARDED_FINALIZER}-"))
    ]


def release_foreign_finalizers(
    client: KubeClient, namespace: str, name: str, finalizers: list[str], own: str
) -> None:
    """Takes the leftover finalizers off by their place in the list as read, each conditional on
    still being there: kopf appending this shard's own meanwhile moves none of them, and a list
    otherwise changed since is left as it is until the daemon next starts."""
    leftovers = foreign_finalizers(finalizers, own)
    if not leftovers:
        return
    operations = []
    for index in reversed(range(len(finalizers))):  # from the end: a removal shifts what follows
        if finalizers[index] in leftovers:
            path = f"/metadata/finalizers/{index}"
            operations += [
                {"op": "test", "path": path, "value": finalizers[index]},
                {"op": "remove", "path": path},
            ]
    try:
        client.patch_rollout_json(namespace, name, operations)
    except KubeError as error:
        log.warning("%s/%s: finalizers %s left on (%s)", namespace, name, leftovers, error)
        return
    log.info("%s/%s: took off finalizers %s no operator holds any more", namespace, name, leftovers)
