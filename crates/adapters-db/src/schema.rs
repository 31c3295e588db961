//! The one portable schema every backend's migrations create (see `migrations/`).
//!
//! Only types all three backends share: Text, BigInt (epoch milliseconds for every time),
//! Integer, Bool and Binary.

diesel::table! {
    accounts (id) {
        id -> Text,
        instagram_account_id -> Text,
        username -> Text,
        access_token_sealed -> Binary,
        webhook_secret_sealed -> Binary,
        crm_webhook_url -> Nullable<Text>,
        token_invalid_since -> Nullable<BigInt>,
        send_rate_per_second -> Integer,
        created_at -> BigInt,
        updated_at -> BigInt,
        next_send_at_us -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        account_id -> Nullable<Text>,
        instagram_account_id -> Text,
        event_key -> Text,
        direction -> Text,
        kind -> Text,
        instagram_message_id -> Nullable<Text>,
        participant_id -> Text,
        sender_id -> Text,
        recipient_id -> Text,
        text -> Nullable<Text>,
        attachments -> Nullable<Text>,
        details -> Nullable<Text>,
        outbound_message_id -> Nullable<Text>,
        occurred_at -> BigInt,
        received_at -> BigInt,
    }
}

diesel::table! {
    outbound_messages (id) {
        id -> Text,
        account_id -> Text,
        recipient_id -> Text,
        text -> Nullable<Text>,
        attachment_type -> Nullable<Text>,
        attachment_url -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        instagram_message_id -> Nullable<Text>,
        error_code -> Nullable<BigInt>,
        error_message -> Nullable<Text>,
        rule_id -> Nullable<Text>,
        due_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    crm_deliveries (id) {
        id -> Text,
        account_id -> Text,
        event_type -> Text,
        message_id -> Nullable<Text>,
        dedupe_key -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        due_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    delivery_attempts (delivery_id, attempt_number) {
        delivery_id -> Text,
        attempt_number -> Integer,
        started_at -> BigInt,
        http_status -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        all_accounts -> Bool,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_key_accounts (api_key_id, account_id) {
        api_key_id -> Text,
        account_id -> Text,
    }
}

diesel::table! {
    reply_rules (id) {
        id -> Text,
        account_id -> Text,
        match_kind -> Text,
        pattern -> Text,
        reply -> Text,
        priority -> Integer,
        enabled -> Bool,
        cooldown_seconds -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    reply_cooldowns (rule_id, sender_id) {
        rule_id -> Text,
        sender_id -> Text,
        last_reply_at -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (account_id, idempotency_key) {
        account_id -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        message_id -> Nullable<Text>,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::joinable!(messages -> accounts (account_id));
diesel::joinable!(outbound_messages -> accounts (account_id));
diesel::joinable!(crm_deliveries -> accounts (account_id));
diesel::joinable!(delivery_attempts -> crm_deliveries (delivery_id));
diesel::joinable!(api_key_accounts -> api_keys (api_key_id));
diesel::joinable!(reply_rules -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    messages,
    outbound_messages,
    crm_deliveries,
    delivery_attempts,
    api_keys,
    api_key_accounts,
    reply_rules,
    reply_cooldowns,
    idempotency_keys,
);
