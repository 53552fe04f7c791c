package dashboard

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
)

// chart is a key's usage drawn on the server as an SVG bar chart (one bar
// an hour), with the numbers beside it for those who do not see it.
type chart struct {
	SVG template.HTML
	// Days are the daily totals, oldest first.
	Days []dayTotal
	// Totals over the whole chart.
	Requests, Errors, RateLimited int64
}

type dayTotal struct {
	Day                           string
	Requests, Errors, RateLimited int64
}

// The chart's geometry, in SVG units (the image scales to its box).
const (
	chartW, chartH = 840.0, 220.0
	padL, padR     = 44.0, 8.0
	padT, padB     = 10.0, 30.0
)

// usageChart draws hours (oldest first): each hour's requests as a bar,
// its refused part (status 400 and above) in another colour and the
// rate-limited part in a third; a scale on the left and a mark a day. The
// colours are fills, not styles, which the page's policy allows.
func usageChart(hours []apikey.UsageHour) chart {
	var c chart
	var peak int64
	for _, hr := range hours {
		c.Requests += hr.Requests
		c.Errors += hr.Errors
		c.RateLimited += hr.RateLimited
		peak = max(peak, hr.Requests)
		day := hr.Hour.UTC().Format("Mon 2 Jan")
		if n := len(c.Days); n == 0 || c.Days[n-1].Day != day {
			c.Days = append(c.Days, dayTotal{Day: day})
		}
		d := &c.Days[len(c.Days)-1]
		d.Requests += hr.Requests
		d.Errors += hr.Errors
		d.RateLimited += hr.RateLimited
	}
	top := niceCeil(peak)
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	bw := plotW / float64(max(len(hours), 1))
	y := func(v int64) float64 { return padT + plotH - plotH*float64(v)/float64(top) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	fmt.Fprintf(&b, `<title id="chart-title">Requests per hour, last %d hours</title>`, len(hours))
	fmt.Fprintf(&b, `<desc id="chart-desc">%d requests, of which %d refused (%d rate-limited). The daily totals are in the table below.</desc>`,
		c.Requests, c.Errors, c.RateLimited)
	// Grid and scale.
	for i := 0; i <= 4; i++ {
		v := top * int64(i) / 4
		yy := y(v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#d7dce5" stroke-width="1"/>`, padL, chartW-padR, yy, yy)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="end" fill="#4a5468">%d</text>`, padL-6, yy+4, v)
	}
	for i, hr := range hours {
		x := padL + float64(i)*bw
		// A mark and a label at each midnight, and at the start when the
		// first day has room for its label.
		if hr.Hour.UTC().Hour() == 0 || (i == 0 && hr.Hour.UTC().Hour() <= 12) {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#9aa3b5" stroke-width="1"/>`, x, x, padT, padT+plotH+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#4a5468">%s</text>`, x+2, chartH-10, hr.Hour.UTC().Format("Mon 2"))
		}
		if hr.Requests == 0 {
			continue
		}
		bar := func(v int64, fill string) {
			if v <= 0 {
				return
			}
			yy := y(v)
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s: %d</title></rect>`,
				x+0.5, yy, max(bw-1, 1), padT+plotH-yy, fill, hr.Hour.UTC().Format(time.RFC822), v)
		}
		bar(hr.Requests, "#2f6fde")
		bar(hr.Errors, "#e0a21a")
		bar(hr.RateLimited, "#b3261e")
	}
	b.WriteString(`</svg>`)
	c.SVG = template.HTML(b.String()) // built here from numbers and fixed text only
	return c
}

// niceCeil is the top of a chart whose peak is v: four grid steps, each 1, 2
// or 5 times a power of ten.
func niceCeil(v int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if step := m * p; 4*step >= v {
				return 4 * step
			}
		}
	}
}
