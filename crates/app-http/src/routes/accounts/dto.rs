//! The accounts resource's public JSON: the account as the CRM sees it (never with a credential),
//! and the create and update bodies, parsed into the use cases' domain-typed input.

use domain::{Account, InstagramId, Username, ValidationError, WebhookUrl};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::accounts::{
    AccountUpdate, CreatedAccount, NewAccount, parse_access_token, parse_webhook_secret,
};
use crate::openapi::schemas;
use crate::routes::json_fields::{nullable_string, optional_string, present, required_string};

/// An account in API answers. Credentials are deliberately absent: they are write-only.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Account)]
pub(super) struct AccountDto {
    #[schema(schema_with = schemas::account_id)]
    id: String,
    /// The business's Instagram id, as Meta writes it.
    #[schema(examples("17841400000000000"))]
    instagram_account_id: String,
    #[schema(examples("shop.official"))]
    username: String,
    /// Where its events are posted; `null`: stored, not forwarded.
    #[schema(required = true, format = "uri")]
    crm_webhook_url: Option<String>,
    /// `true` once Meta has rejected the access token, until a new one is set.
    token_invalid: bool,
    /// The account's send pace.
    send_rate_per_second: u32,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// The `201` answer to a create: the account, plus the webhook secret when igrouter generated it
/// (the one time it is ever shown).
#[derive(Serialize, ToSchema)]
#[schema(as = CreatedAccount)]
pub(super) struct CreatedAccountDto {
    #[serde(flatten)]
    account: AccountDto,
    /// Only when igrouter generated it (64 lowercase hex digits): shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, pattern = "^[0-9a-f]{64}$")]
    webhook_secret: Option<String>,
}

/// One page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AccountPage {
    pub(super) data: Vec<AccountDto>,
    /// Pass it back as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    pub(super) next_cursor: Option<String>,
}

/// `POST /api/v1/accounts`. No `Debug`: it holds the token and the secret in clear.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateAccount)]
pub(crate) struct CreateAccountBody {
    /// Meta's id of the business account: 1–64 printable ASCII characters without spaces.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = true, pattern = "^[!-~]{1,64}$", examples("17841400000000000"))]
    instagram_account_id: Option<Value>,
    /// 1–30 letters (of any script), digits, `.` and `_` (Instagram's rule).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = true, pattern = r"^[\p{Alpha}\p{N}._]{1,30}$", examples("shop.official"))]
    username: Option<Value>,
    /// The Graph API access token: 1–4096 printable ASCII characters without spaces. Write-only.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = true, pattern = "^[!-~]{1,4096}$", write_only)]
    access_token: Option<Value>,
    /// An absolute `http` or `https` URL without credentials, at most 2048 bytes; `null` stores
    /// the events without forwarding them. Required, but may be `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = true, format = "uri", max_length = 2048, examples("https://crm.example.com/hooks/instagram"))]
    crm_webhook_url: Option<Value>,
    /// 16–256 bytes of UTF-8, the HMAC key of the CRM signatures; absent or `null`: generated
    /// and shown once in the answer. Write-only.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 16, max_length = 256, write_only)]
    webhook_secret: Option<Value>,
}

/// `PATCH /api/v1/accounts/{id}`: every member optional. No `Debug`, as above.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateAccount)]
pub(crate) struct UpdateAccountBody {
    /// As on create.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, pattern = r"^[\p{Alpha}\p{N}._]{1,30}$")]
    username: Option<Value>,
    /// A new token; clears `token_invalid`. Cannot be `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, pattern = "^[!-~]{1,4096}$", write_only)]
    access_token: Option<Value>,
    /// `null` stops forwarding.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "uri", max_length = 2048)]
    crm_webhook_url: Option<Value>,
    /// A new secret; cannot be `null`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 16, max_length = 256, write_only)]
    webhook_secret: Option<Value>,
}

impl From<&Account> for AccountDto {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id.to_string(),
            instagram_account_id: account.instagram_account_id.to_string(),
            username: account.username.as_str().to_owned(),
            crm_webhook_url: account
                .crm_webhook_url
                .as_ref()
                .map(|url| url.as_str().to_owned()),
            token_invalid: account.token_invalid_since.is_some(),
            send_rate_per_second: account.send_rate_per_second,
            created_at: account.created_at.to_rfc3339(),
            updated_at: account.updated_at.to_rfc3339(),
        }
    }
}

impl From<&CreatedAccount> for CreatedAccountDto {
    fn from(created: &CreatedAccount) -> Self {
        Self {
            account: AccountDto::from(&created.account),
            webhook_secret: created
                .generated_webhook_secret
                .as_ref()
                .map(|secret| secret.expose_secret().to_owned()),
        }
    }
}

impl CreateAccountBody {
    /// The new account, validated field by field in the order of the contract.
    ///
    /// `crm_webhook_url` must be there, but may be `null`: such an account's events are stored
    /// and not forwarded until a URL is set. A `null` `webhook_secret` is the same as none: one is
    /// generated.
    pub(super) fn parse(self) -> Result<NewAccount, ValidationError> {
        const URL: &str = "crm_webhook_url";
        let instagram_account_id = InstagramId::parse(
            "instagram_account_id",
            &required_string("instagram_account_id", self.instagram_account_id)?,
        )?;
        let username = Username::parse(&required_string("username", self.username)?)?;
        let access_token = parse_access_token(required_string("access_token", self.access_token)?)?;
        let crm_webhook_url = match nullable_string(URL, self.crm_webhook_url)? {
            None => {
                return Err(ValidationError::new(
                    URL,
                    "is required (null stores events without forwarding them)",
                ));
            }
            Some(url) => url.map(|url| WebhookUrl::parse(URL, &url)).transpose()?,
        };
        let webhook_secret = nullable_string("webhook_secret", self.webhook_secret)?
            .flatten()
            .map(parse_webhook_secret)
            .transpose()?;
        Ok(NewAccount {
            instagram_account_id,
            username,
            access_token,
            crm_webhook_url,
            webhook_secret,
        })
    }
}

impl UpdateAccountBody {
    /// The changes, validated; `crm_webhook_url: null` stops forwarding, other members cannot be
    /// `null`.
    pub(super) fn parse(self) -> Result<AccountUpdate, ValidationError> {
        const URL: &str = "crm_webhook_url";
        Ok(AccountUpdate {
            username: optional_string("username", self.username)?
                .map(|username| Username::parse(&username))
                .transpose()?,
            access_token: optional_string("access_token", self.access_token)?
                .map(parse_access_token)
                .transpose()?,
            crm_webhook_url: nullable_string(URL, self.crm_webhook_url)?
                .map(|url| url.map(|url| WebhookUrl::parse(URL, &url)).transpose())
                .transpose()?,
            webhook_secret: optional_string("webhook_secret", self.webhook_secret)?
                .map(parse_webhook_secret)
                .transpose()?,
        })
    }
}
