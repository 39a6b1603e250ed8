package privacy

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"io"
)

// avis only needs a WebP logo's format and size, not its pixels: this reads
// the header of the three WebP kinds (lossy VP8, lossless VP8L, extended
// VP8X) so that image.DecodeConfig recognises WebP without a dependency.
func init() {
	image.RegisterFormat("webp", "RIFF????WEBP", decodeWebP, decodeWebPConfig)
}

var errWebP = errors.New("webp: not a valid WebP header")

func decodeWebP(io.Reader) (image.Image, error) {
	return nil, errors.New("webp: avis reads only the header of WebP images")
}

func decodeWebPConfig(r io.Reader) (image.Config, error) {
	var h [30]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return image.Config{}, errWebP
	}
	return webpConfig(h[:])
}

// webpConfig reads the size from the first 30 bytes of a WebP file.
func webpConfig(h []byte) (image.Config, error) {
	if len(h) < 30 || string(h[0:4]) != "RIFF" || string(h[8:12]) != "WEBP" {
		return image.Config{}, errWebP
	}
	chunk, p := string(h[12:16]), h[20:]
	var w, ht int
	switch chunk {
	case "VP8 ":
		// Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width
		// and height (the top two bits are scaling).
		if p[3] != 0x9d || p[4] != 0x01 || p[5] != 0x2a {
			return image.Config{}, errWebP
		}
		w = int(binary.LittleEndian.Uint16(p[6:8]) & 0x3fff)
		ht = int(binary.LittleEndian.Uint16(p[8:10]) & 0x3fff)
	case "VP8L":
		// Signature 0x2f, then width-1 and height-1 in 14 bits each.
		if p[0] != 0x2f {
			return image.Config{}, errWebP
		}
		bits := binary.LittleEndian.Uint32(p[1:5])
		w = int(bits&0x3fff) + 1
		ht = int(bits>>14&0x3fff) + 1
	case "VP8X":
		// Flags (1 byte), reserved (3), canvas width-1 and height-1 in
		// 24 bits each.
		w = int(uint32(p[4])|uint32(p[5])<<8|uint32(p[6])<<16) + 1
		ht = int(uint32(p[7])|uint32(p[8])<<8|uint32(p[9])<<16) + 1
	default:
		return image.Config{}, errWebP
	}
	if w == 0 || ht == 0 {
		return image.Config{}, errWebP
	}
	return image.Config{ColorModel: color.NRGBAModel, Width: w, Height: ht}, nil
}
