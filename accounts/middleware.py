from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import User


class LastActiveMiddleware:
    """Records when a user was last seen, at most once an hour: no write per request.

    Session requests are seen here; bearer-token requests authenticate inside the view,
    so ``accounts.api.auth.ActivityJWTAuthentication`` calls the same function.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            touch_last_active(user)
        return response


def touch_last_active(user: User) -> None:
    now = timezone.now()
    threshold = now - timedelta(seconds=settings.LAST_ACTIVE_UPDATE_SECONDS)
    if user.last_active_at and user.last_active_at > threshold:
        return
    # Conditional UPDATE: concurrent requests of one user write once.
    stale = Q(last_active_at__isnull=True) | Q(last_active_at__lte=threshold)
    User.objects.filter(Q(pk=user.pk) & stale).update(last_active_at=now)
    user.last_active_at = now
