from rest_framework_simplejwt.authentication import JWTAuthentication

from ..middleware import touch_last_active


class ActivityJWTAuthentication(JWTAuthentication):
    """Bearer-token auth that also records activity (at most one write an hour)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            touch_last_active(result[0])
        return result
