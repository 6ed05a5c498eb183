#!/usr/bin/env python3
"""CDK entry point for the CDK CLI: `cdk deploy --app "python app.py"`.

Builds the same app as `python -m rollgate_cdk.synth` (rollgate_cdk.build.build_app); makes no AWS calls.
"""

from rollgate_cdk.build import build_app

build_app().synth()
