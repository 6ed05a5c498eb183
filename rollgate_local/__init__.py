"""The embedded local runtime: Rollgate's stack on one machine, no AWS account.

rollgate_local.runtime      LocalRuntime: moto (Step Functions execution on) + bridge + data plane + clock
rollgate_local.bridge       the only package that touches moto internals (a module per service, each patch
                   documented); rollgate_local.moto_bridge re-exports its API
rollgate_local.data_plane   the in-process Lambda data plane (weights, metrics, DLQ, updates, streams), a
                   module per concern
rollgate_local.deployer     cdk.out -> moto (template + assets), and a cached `synthesize`
rollgate_local.sample_app   orders-api with builds v1..v7, payloads, deployment
rollgate_local.traffic      steady traffic at an exact rate, generated on demand up to the clock's instant
rollgate_local.virtual_time the virtual clock with autojump (moves only when every actor waits)
rollgate_local.clock        the runtime's clocks: virtual (tests, demo) or scaled real time (`local serve`)
rollgate_local.faults       fault toggles for tests (failing reads and calls, injected on purpose)
rollgate_local.server       `serve`: the same runtime behind an HTTP endpoint
rollgate_local.demo         `rollgate demo`: four releases of the sample app (rollgate_local.demo_events: `--events`)
"""
