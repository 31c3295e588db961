//! PostgreSQL's data-modifying CTEs: two or three INSERTs run as one statement, so storing an
//! event with its delivery is one round trip and needs no explicit transaction (a statement is
//! atomic on its own).

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

/// `WITH w0 AS (first) then`.
#[derive(Debug, Clone)]
pub(crate) struct With2<A, B>(pub(crate) A, pub(crate) B);

/// `WITH w0 AS (first), w1 AS (second) then`.
#[derive(Debug, Clone)]
pub(crate) struct With3<A, B, C>(pub(crate) A, pub(crate) B, pub(crate) C);

impl<A: QueryFragment<Pg>, B: QueryFragment<Pg>> QueryFragment<Pg> for With2<A, B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH w0 AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.1.walk_ast(out.reborrow())
    }
}

impl<A, B, C> QueryFragment<Pg> for With3<A, B, C>
where
    A: QueryFragment<Pg>,
    B: QueryFragment<Pg>,
    C: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH w0 AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql("), w1 AS (");
        self.1.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.2.walk_ast(out.reborrow())
    }
}

// A static query id lets the driver prepare the statement once per connection and reuse it.
impl<A: QueryId, B: QueryId> QueryId for With2<A, B> {
    type QueryId = With2<A::QueryId, B::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = A::HAS_STATIC_QUERY_ID && B::HAS_STATIC_QUERY_ID;
}

impl<A: QueryId, B: QueryId, C: QueryId> QueryId for With3<A, B, C> {
    type QueryId = With3<A::QueryId, B::QueryId, C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool =
        A::HAS_STATIC_QUERY_ID && B::HAS_STATIC_QUERY_ID && C::HAS_STATIC_QUERY_ID;
}
