from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from mint.api import ID_PATTERN, CursorPagination
from mint.filters import query_bool

from ..models import Notification, Webhook
from ..selectors import notifications_for, preferences_for, unread_count, webhooks_for
from ..services import (
    notification_mark_read,
    notifications_mark_all_read,
    preferences_set,
    webhook_create,
    webhook_delete,
    webhook_set_active,
)
from .serializers import (
    NotificationSerializer,
    PreferencesSerializer,
    ReadAllResultSerializer,
    ReadAllSerializer,
    UnreadCountSerializer,
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
)


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """The user's in-app notifications, newest first (``?unread=true`` for the unread ones
    only, ``?unread=false`` for the read ones)."""

    queryset = Notification.objects.none()  # for the schema; get_queryset scopes
    serializer_class = NotificationSerializer
    pagination_class = CursorPagination
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return notifications_for(user=self.request.user,
                                 unread=query_bool(self.request, "unread", default=None))

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool,
                                    description="true: only unread ones; false: only read ones")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=UnreadCountSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": unread_count(user=request.user)})

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = notification_mark_read(notification=self.get_object())
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=ReadAllSerializer, responses=ReadAllResultSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        data = ReadAllSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = notifications_mark_all_read(
            user=request.user, up_to_id=data.validated_data.get("up_to_id")
        )
        return Response({"marked": marked})


class NotificationPreferencesView(APIView):
    """Which channels each kind of notification goes to (see README, Notifications, for
    the defaults). PUT takes the full matrix and answers with it."""

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request):
        return Response(preferences_for(user=request.user))

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def put(self, request):
        data = PreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preferences_set(user=request.user, matrix=data.validated_data)
        return Response(preferences_for(user=request.user))


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Webhooks receive every notification as a signed JSON POST (README, Notifications).
    The secret is generated here and shown once, in the create response. PATCH switches
    one on or off (``{"active": false}``); the URL cannot change: create another."""

    queryset = Webhook.objects.none()  # for the schema; get_queryset scopes
    serializer_class = WebhookSerializer
    pagination_class = CursorPagination
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return webhooks_for(user=self.request.user)

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookCreatedSerializer})
    def create(self, request):
        data = WebhookCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook, secret = webhook_create(user=request.user, url=data.validated_data["url"])
        webhook.secret = secret  # the plain one, for this response only
        return Response(WebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        webhook = self.get_object()
        data = WebhookSerializer(webhook, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if "active" in data.validated_data:
            webhook = webhook_set_active(webhook=webhook, active=data.validated_data["active"])
        return Response(WebhookSerializer(webhook).data)

    def perform_destroy(self, instance):
        webhook_delete(webhook=instance)
