#!/usr/bin/env python3
"""CDK entry point for the CDK CLI: `cdk deploy --app "python app.py"`.

Builds the same app as `python -m infra.synth` (infra.build.build_app); makes no AWS calls.
"""

from infra.build import build_app

build_app().synth()
