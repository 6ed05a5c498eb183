"""The embedded local runtime: Rollgate's stack on one machine, no AWS account.

local.runtime      LocalRuntime: moto (Step Functions execution on) + bridge + data plane + clock
local.bridge       the only package that touches moto internals (a module per service, each patch
                   documented); local.moto_bridge re-exports its API
local.data_plane   the in-process Lambda data plane (weights, metrics, DLQ, updates, streams), a
                   module per concern
local.deployer     cdk.out -> moto (template + assets), and a cached `synthesize`
local.sample_app   orders-api with builds v1..v7, payloads, deployment
local.traffic      steady traffic at an exact rate, generated on demand up to the clock's instant
local.virtual_time the virtual clock with autojump (moves only when every actor waits)
local.clock        the runtime's clocks: virtual (tests, demo) or scaled real time (`local serve`)
local.faults       fault toggles for tests (failing reads and calls, injected on purpose)
local.server       `serve`: the same runtime behind an HTTP endpoint
local.demo         `rollgate demo`: four releases of the sample app (local.demo_events: `--events`)
"""
