//! Values derived from an event for the typed columns the metrics read,
//! computed once here so every store stores the same.

use serde::Deserialize;

/// The host of a URL, lowercased, without user info, port, a trailing dot
/// or a leading `www.`: `https://User@WWW.News.Example:8443/a` →
/// `news.example`. Empty when the text is not a URL with a host.
pub fn url_host(url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else {
        return String::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => hostport.split(':').next().unwrap_or(""),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match host.strip_prefix("www.") {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => host,
    }
}

/// The referrer's host (as [`url_host`]), or empty ("direct") when there is
/// no referrer or it is the site itself: the same host as the page that
/// sent the event (`page_host`, from the request's `Origin`), when known.
pub fn referrer_host(referrer: &str, page_host: Option<&str>) -> String {
    let host = url_host(referrer);
    if page_host.is_some_and(|page| page == host) {
        return String::new();
    }
    host
}

/// The numeric top-level `amount` of a `properties` object, when it is a
/// finite JSON number.
pub fn amount(properties: &str) -> Option<f64> {
    // Most events have no amount: skip the parse.
    if !properties.contains("\"amount\"") {
        return None;
    }
    #[derive(Deserialize)]
    struct WithAmount {
        #[serde(default)]
        amount: Option<serde_json::Value>,
    }
    serde_json::from_str::<WithAmount>(properties)
        .ok()
        .and_then(|w| w.amount)
        .and_then(|v| v.as_f64())
        .filter(|a| a.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_host_is_lowercased_without_user_port_dot_or_www() {
        for (url, host) in [
            ("https://User@WWW.News.Example:8443/a?b#c", "news.example"),
            ("http://example.org", "example.org"),
            ("https://example.org./x", "example.org"),
            ("https://[::1]:8080/", "::1"),
            (
                "android-app://com.google.android.gm/",
                "com.google.android.gm",
            ),
            ("https://www./", "www"),
            ("", ""),
            ("not a url", ""),
        ] {
            assert_eq!(url_host(url), host, "{url}");
        }
    }

    #[test]
    fn a_referrer_of_the_page_s_own_host_is_direct() {
        assert_eq!(
            referrer_host("https://shop.example/cart", Some("shop.example")),
            ""
        );
        assert_eq!(
            referrer_host("https://www.shop.example/", Some("shop.example")),
            ""
        );
        assert_eq!(
            referrer_host("https://search.example/?q=x", Some("shop.example")),
            "search.example"
        );
        assert_eq!(referrer_host("https://shop.example/", None), "shop.example");
        assert_eq!(referrer_host("", Some("shop.example")), "");
    }

    #[test]
    fn an_amount_is_a_finite_json_number_and_nothing_else() {
        assert_eq!(amount(r#"{"amount":19.5,"currency":"EUR"}"#), Some(19.5));
        assert_eq!(amount(r#"{"amount":42}"#), Some(42.0));
        assert_eq!(amount(r#"{"amount":"42"}"#), None);
        assert_eq!(amount(r#"{"amount":null}"#), None);
        assert_eq!(amount(r#"{"nested":{"amount":1}}"#), None);
        assert_eq!(amount(r#"{}"#), None);
        assert_eq!(amount(r#"{"amount":1e999}"#), None);
    }
}
