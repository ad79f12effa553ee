//! The `json!` macro.

/// Builds a [`Value`](crate::Value) from JSON syntax with interpolated Rust expressions: the
/// syntax of `serde_json::json!`, which builds it (so an interpolated expression is anything
/// `serde::Serialize`, [`Value`](crate::Value)s included), converted to a
/// [`Value`](crate::Value).
///
/// Objects built this way have their keys sorted (serde_json's maps are sorted); insert into
/// an [`Object`](crate::Object) to choose the order.
///
/// ```
/// use integrator_json::json;
///
/// let qty = 3;
/// let sku = "A-1";
/// let order = json!({
///     "id": 7,
///     "lines": [{"sku": sku, "qty": qty, "price": 152.37}],
///     "deleted": false,
/// });
/// assert_eq!(
///     order.to_string(),
///     r#"{"deleted":false,"id":7,"lines":[{"price":152.37,"qty":3,"sku":"A-1"}]}"#
/// );
/// ```
#[macro_export]
macro_rules! json {
    ($($json:tt)+) => {
        $crate::Value::from($crate::__private::serde_json::json!($($json)+))
    };
}
