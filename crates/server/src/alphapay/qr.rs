//! `paymentQRImage`: a PNG of the QR code of the cashier link, as a data URI.

use base64::Engine as _;
use qrcode::{EcLevel, QrCode};
use std::io::Cursor;

/// What `paymentQRImage` starts with: the value works as an `<img src>` as it is.
pub const QR_DATA_URI_PREFIX: &str = "data:image/png;base64,";

/// The smallest side of the image, in pixels (phone cameras read this comfortably from a screen).
const MIN_SIDE_PX: u32 = 240;

/// A PNG (8-bit grey) of the QR code of `text`, with the standard quiet zone, error correction M.
pub fn qr_png(text: &str) -> Result<Vec<u8>, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| format!("cannot make a QR code of this link: {e}"))?;
    let image = code
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .min_dimensions(MIN_SIDE_PX, MIN_SIDE_PX)
        .build();
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode the QR code as PNG: {e}"))?;
    Ok(png)
}

/// [`qr_png`] of `text` as `data:image/png;base64,<standard base64>`.
pub fn qr_png_data_uri(text: &str) -> Result<String, String> {
    let png = qr_png(text)?;
    Ok(format!(
        "{QR_DATA_URI_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_a_png_of_at_least_the_minimum_side() {
        let png = qr_png("http://127.0.0.1:8080/cashier/2026112214301220010123456789012").unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
        assert!(img.width() >= MIN_SIDE_PX && img.width() == img.height());
        let uri = qr_png_data_uri("x").unwrap();
        assert!(uri.starts_with(QR_DATA_URI_PREFIX));
    }
}
