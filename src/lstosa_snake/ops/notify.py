"""The notification of a night's outcome: ``--notify-cmd`` and ``--notify-mail``."""

from __future__ import annotations

import os
import shutil
import subprocess


def notify(settings, result, say=print) -> None:
    """Send ``result.summary`` (a nightly.NightResult) to ``settings.notify_cmd`` (stdin + LSTOSA_*
    variables) and/or ``settings.notify_mail``."""
    subject = f"lstosa {result.date} {result.prod_id}: {result.state}"
    body = result.summary + "\n"
    env = dict(os.environ, LSTOSA_NIGHT=result.date, LSTOSA_PROD_ID=result.prod_id, LSTOSA_STATE=result.state,
               LSTOSA_EXIT_CODE=str(result.exit_code), LSTOSA_LOG=result.log or "", LSTOSA_SUBJECT=subject)
    if settings.notify_cmd:
        try:
            proc = subprocess.run(settings.notify_cmd, shell=True, input=body, text=True, env=env, timeout=120,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                say(f"notification command exited {proc.returncode}: {proc.stdout.strip()[:300]}")
        except subprocess.TimeoutExpired:
            say("notification command timed out after 120 s")
    if settings.notify_mail:
        mail, sendmail = shutil.which("mail"), shutil.which("sendmail") or (
            "/usr/sbin/sendmail" if os.access("/usr/sbin/sendmail", os.X_OK) else None)
        try:
            if mail:
                subprocess.run([mail, "-s", subject, settings.notify_mail], input=body, text=True, timeout=120)
            elif sendmail:
                msg = f"To: {settings.notify_mail}\nSubject: {subject}\n\n{body}"
                subprocess.run([sendmail, "-t"], input=msg, text=True, timeout=120)
            else:
                say(f"--notify-mail {settings.notify_mail}: neither mail nor sendmail is installed; not sent")
        except (OSError, subprocess.TimeoutExpired) as exc:
            say(f"mail to {settings.notify_mail} failed: {exc}")
