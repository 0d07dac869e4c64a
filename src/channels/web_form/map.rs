//! The optional map on the appeal form (issue 28, point 5): a pin the citizen drops
//! where the problem is, as a progressive enhancement of the address field and "use my
//! location". Off unless the city names a tile server (`GATEWAY_MAP_TILES_URL`): no
//! request leaves the citizen's browser for a third party it did not choose. The map is
//! Leaflet 1.9.4 (BSD-2-Clause), served by the gateway itself from
//! `templates/web/assets/vendor/`; the form's own script puts the pin and the
//! coordinates (four decimals, as "use my location" does). Without scripts, or without
//! the tile server, the form is the same form without a map.

/// The tile server and what the form's page may load from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Map {
    /// The tiles' address with `{z}`, `{x}` and `{y}` (Leaflet's template).
    pub(crate) tiles: String,
    /// The attribution the tiles' licence asks for (HTML, set by the operator).
    pub(crate) attribution: String,
    /// The form page's Content-Security-Policy: the citizen pages' own, with the tile
    /// server's origin for images and the gateway's own style sheet.
    pub(crate) csp: String,
}

impl Map {
    /// The map of `GATEWAY_MAP_TILES_URL` and `GATEWAY_MAP_ATTRIBUTION`, or why the
    /// address cannot serve: HTTPS (plain HTTP only on this machine, for tests and a
    /// tile server beside the gateway), with the three placeholders.
    pub(crate) fn new(tiles: &str, attribution: &str) -> Result<Map, String> {
        let url = url::Url::parse(&tiles.replace(['{', '}'], "")).map_err(|_| {
            "GATEWAY_MAP_TILES_URL: not an address (https://tiles.example.kz/{z}/{x}/{y}.png)"
                .to_owned()
        })?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(
                "GATEWAY_MAP_TILES_URL: https:// (http:// only for this machine)".to_owned(),
            );
        }
        if ["{z}", "{x}", "{y}"].iter().any(|p| !tiles.contains(p)) {
            return Err("GATEWAY_MAP_TILES_URL: the address needs {z}, {x} and {y}".to_owned());
        }
        let origin = url.origin().ascii_serialization();
        let csp = crate::http::pages::CITIZEN_CSP
            .replace("img-src 'self'", &format!("img-src 'self' {origin}"))
            .replace("style-src ", "style-src 'self' ");
        Ok(Map {
            tiles: tiles.to_owned(),
            attribution: attribution.to_owned(),
            csp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tile_server_is_named_exactly_in_the_policy() {
        let map = Map::new(
            "https://tiles.almaty.kz/osm/{z}/{x}/{y}.png",
            "© OpenStreetMap",
        )
        .expect("a map");
        assert!(
            map.csp.contains("img-src 'self' https://tiles.almaty.kz;"),
            "{}",
            map.csp
        );
        assert!(map.csp.contains("style-src 'self' 'unsafe-inline'"));
        assert!(map.csp.contains("script-src 'self';"), "no foreign script");
        let local = Map::new("http://127.0.0.1:8081/{z}/{x}/{y}.png", "").expect("local");
        assert!(local.csp.contains("img-src 'self' http://127.0.0.1:8081;"));
    }

    #[test]
    fn a_tile_address_that_cannot_serve_is_refused() {
        for bad in [
            "http://tiles.almaty.kz/{z}/{x}/{y}.png",
            "https://tiles.almaty.kz/tile.png",
            "tiles.almaty.kz/{z}/{x}/{y}.png",
            "javascript:alert(1)//{z}{x}{y}",
        ] {
            let refused = Map::new(bad, "").expect_err(bad);
            assert!(refused.starts_with("GATEWAY_MAP_TILES_URL: "), "{refused}");
        }
    }
}
