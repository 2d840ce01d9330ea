"""Thin tasks of the accounts app. Routed to the ``notifications`` queue (an email is
what they send; settings.CELERY_TASK_ROUTES)."""

from celery import shared_task

from .login import password_reset_email_send


@shared_task
def send_password_reset_email(*, user_id: int, domain: str, site_name: str, protocol: str,
                              subject_template_name: str, email_template_name: str,
                              html_email_template_name: str | None,
                              from_email: str | None) -> None:
    # The link's token is made here, from the user's id: no token travels on the broker.
    password_reset_email_send(
        user_id=user_id, domain=domain, site_name=site_name, protocol=protocol,
        subject_template_name=subject_template_name, email_template_name=email_template_name,
        html_email_template_name=html_email_template_name, from_email=from_email)
