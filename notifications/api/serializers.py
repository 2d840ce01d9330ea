from rest_framework import serializers

from mint.fields import IdField

from ..models import Notification, Webhook


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "data", "read", "read_at", "created_at"]
        read_only_fields = fields

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class ReadAllSerializer(serializers.Serializer):
    up_to_id = IdField(
        required=False,
        help_text="Mark only notifications up to this id (the newest the client shows).",
    )


class ReadAllResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class ChannelsSerializer(serializers.Serializer):
    in_app = serializers.BooleanField(help_text="Always on.")
    email = serializers.BooleanField()
    webhook = serializers.BooleanField(help_text="Every active webhook of the user.")


class PreferencesSerializer(serializers.Serializer):
    """The full matrix: every kind, every channel."""

    budget_approaching = ChannelsSerializer()
    budget_exceeded = ChannelsSerializer()
    refresh_finished = ChannelsSerializer()
    refresh_failing = ChannelsSerializer()


URL_FIXED = "The URL of a webhook cannot be changed: delete this one and add another."


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "url", "active", "created_at"]
        read_only_fields = ["id", "url", "created_at"]

    def validate(self, attrs):
        # DRF drops a read-only field from the input without a word: another URL was a 200
        # that changed nothing (and switched "active" beside it). The URL GET gave is no
        # change.
        url = self.initial_data.get("url")
        if self.instance is not None and "url" in self.initial_data and url != self.instance.url:
            raise serializers.ValidationError({"url": [URL_FIXED]})
        return attrs


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Signs every delivery (X-Mint-Signature). Shown only in this response.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
