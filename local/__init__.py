"""The embedded local runtime: Rollgate's stack on one machine, no AWS account.

    local.runtime      LocalRuntime: moto (Step Functions execution on) + bridge + data plane + clock
    local.moto_bridge  the only module that touches moto internals (each patch documented)
    local.data_plane   the in-process Lambda data plane (weights, metrics, DLQ, updates, streams)
    local.deployer     cdk.out -> moto (template + assets), and a cached `synthesize`
    local.sample_app   orders-api with builds v1..v6, payloads, deployment
    local.traffic      steady traffic at an exact rate in virtual time
    local.clock        the one fast clock (LocalClock) and its environment variables
    local.server       `serve`: the same runtime behind an HTTP endpoint
"""
