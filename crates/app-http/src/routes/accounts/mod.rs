//! `GET /api/v1/accounts` and `GET /api/v1/accounts/{id}`: accounts as the CRM sees them, never
//! with their access token or webhook secret. Creation, update and deletion come later.

use actix_web::{HttpResponse, web};
use domain::{Account, AccountId, Cursor, PageRequest};
use serde::{Deserialize, Serialize};

use crate::auth::ApiCaller;
use crate::http_error::ApiError;
use crate::state::AppState;

/// An account in API answers. Credentials are deliberately absent: they are write-only.
#[derive(Debug, Serialize)]
struct AccountDto {
    id: String,
    instagram_account_id: String,
    username: String,
    crm_webhook_url: Option<String>,
    token_invalid: bool,
    send_rate_per_second: u32,
    created_at: String,
    updated_at: String,
}

/// One page of accounts.
#[derive(Debug, Serialize)]
struct AccountPage {
    data: Vec<AccountDto>,
    next_cursor: Option<String>,
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
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

/// The accounts the caller may see, newest first.
#[tracing::instrument(name = "list accounts", skip_all)]
pub(crate) async fn list(
    caller: ApiCaller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { limit, cursor } = query.into_inner();
    let after = cursor.as_deref().map(Cursor::decode).transpose()?;
    let page = PageRequest::new(limit, after)?;
    let only = caller.account_filter();
    let listing = state.accounts.list_accounts(only.as_deref(), &page).await?;
    Ok(HttpResponse::Ok().json(AccountPage {
        data: listing.items.iter().map(AccountDto::from).collect(),
        next_cursor: listing.next.as_ref().map(Cursor::encode),
    }))
}

/// One account; `404` when it does not exist, is outside the caller's scope, or the id is not
/// an account id at all.
#[tracing::instrument(name = "get account", skip_all, fields(account.id = %id))]
pub(crate) async fn get(
    caller: ApiCaller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = AccountId::parse(&id).map_err(|_| ApiError::NotFound)?;
    caller.require_account(&id)?;
    let account = state
        .accounts
        .account(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(AccountDto::from(&account)))
}
