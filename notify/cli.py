"""`flask sms templates`: the templates to register with Alibaba Cloud or Tencent Cloud,
printed from the message texts themselves (notify.messages), with each parameter's name,
its type in the provider's console and the longest value we send (docs/sms.md)."""

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from notify.messages import (
    ALIYUN,
    EN,
    LINK,
    PARAMETERS,
    REPLY_KINDS,
    TENCENT,
    TEXTS,
    ZH,
    parameters,
    provider_template,
)

sms_cli = AppGroup("sms", help="SMS: the templates to register with a provider.")


@sms_cli.command("templates")
@click.option("--provider", type=click.Choice([ALIYUN, TENCENT, "both"]), default="both",
              show_default=True, help="Whose template syntax and parameter rules to print.")
@click.option("--language", type=click.Choice([ZH, EN, "both"]), default=ZH,
              show_default=True, help="Chinese templates, English ones, or both.")
@with_appcontext
def templates_command(provider: str, language: str) -> None:
    """Print, per message kind, the template text to register and its parameters."""
    from notify.cloud import template_id, templates_setting

    providers = [ALIYUN, TENCENT] if provider == "both" else [provider]
    languages = [ZH, EN] if language == "both" else [language]
    config = current_app.config
    configured = templates_setting(config)
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    click.echo(f"PUBLIC_BASE_URL = {base or '(not set)'}: links in the templates start "
               "with it; register the templates again if it changes.")
    for kind in [kind for kind in TEXTS if kind not in REPLY_KINDS]:
        for lang in languages:
            chosen = template_id(kind, lang, config) if kind in configured else None
            click.echo("")
            click.echo(f"== {kind} ({lang}) "
                       f"[XIYUE_SMS_TEMPLATES: {chosen or 'not set, not sent'}]")
            for name in providers:
                click.echo(f"  {name}: {provider_template(kind, lang, name, base)}")
            names = parameters(kind, lang)
            if names:
                click.echo("  parameters:")
            for position, name in enumerate(names, 1):
                spec = PARAMETERS.get(name)
                note = " (the end of the link: its origin is fixed text)" if name == LINK else ""
                aliyun_type = spec.aliyun_type if spec else "其他"
                tencent_type = spec.tencent_type if spec else "其他"
                longest = spec.max_length if spec else 35
                click.echo(f"    ${{{name}}} / {{{position}}}  aliyun {aliyun_type}, "
                           f"tencent {tencent_type}, at most {longest} characters{note}")
