"""Leader election against a slow API server: the old leader stops before the new starts.

The leader reaches the local control plane's kube-apiserver through a proxy that delays
its answers; a standby reaches it directly. The leader renews through the slow answers
for a while — each renewal is stored at once, so the standby keeps waiting — then gets
no answers at all. It must stop leading before the standby acquires: its validity is
judged from when it *sent* its last renewal, not when the answer arrived. With the
timings below, judging from the arrival would keep it leading ~0.5 s into the
standby's term.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.leaderelection import LeaderElectionOptions
from tests.support.leader_handover import handover_behind_slow_server

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


async def test_slow_leader_stops_before_the_standby_acquires(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    options = LeaderElectionOptions(
        name="slow-leader",
        namespace=namespace,
        lease_duration=4.0,
        renew_deadline=3.5,
        retry_period=0.25,
    )
    handover = await handover_behind_slow_server(
        local_cluster.server,
        local_cluster.kubeconfig_path,
        tmp_path,
        options,
        delay=1.2,
        slow_renewals=2,
    )
    assert handover.slow_renewals == 2  # a slow answer still renews while in time
    assert handover.old_stopped < handover.new_started
