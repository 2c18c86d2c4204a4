//! A store API key cannot create wallet money.
