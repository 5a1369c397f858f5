//! What the fuzz targets share: the shipped config, which the parsers read
//! severities, actions and runbooks from, as they do in the bot.

use std::sync::OnceLock;
use warroom::config::Config;

const SHIPPED: &str = include_str!("../../config/warroom.toml");

/// The config shipped in `config/warroom.toml`, read once.
pub fn shipped_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| match Config::from_toml_str(SHIPPED) {
        Ok(config) => config,
        Err(error) => panic!("the shipped config does not load: {error}"),
    })
}
