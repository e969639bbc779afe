// Package metrics holds acre's Prometheus metrics, on a registry of its
// own (never the global one), and the handler that exposes them.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the counters and histograms the server updates.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.HistogramVec
	bytesIn    *prometheus.CounterVec
	bytesOut   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	logins     *prometheus.CounterVec
	gc         *prometheus.CounterVec
}

// Store is the part of the metadata store the gauges read.
type Store interface {
	meta.Registries
	meta.Uploads
	meta.Usage
}

// CommitStatser is a metadata store that counts its group commits.
type CommitStatser interface {
	CommitStats() (transactions, commits int64, ok bool)
}

// New builds the metrics; store feeds the gauges read at scrape time
// (storage per registry, uploads in progress) and commits, when not nil,
// the counts of the store's group commits.
func New(store meta.View[Store], commits CommitStatser) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "acre_http_request_duration_seconds", Help: "HTTP requests by route, method and status, with their latency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method", "status"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acre_http_request_bytes_total", Help: "Bytes received in request bodies, by route."}, []string{"route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acre_http_response_bytes_total", Help: "Bytes sent in response bodies, by route."}, []string{"route"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acre_webhook_deliveries_total", Help: "Webhook delivery attempts by action and result (success, failure)."},
			[]string{"action", "result"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acre_tokens_issued_total", Help: "Tokens issued, by kind (access_token, refresh_token, session)."}, []string{"kind"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acre_logins_total", Help: "Login attempts by method and result (Success, Failed, Throttled)."}, []string{"method", "result"}),
	}
	m.gc = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "acre_gc_total", Help: "Garbage collection work: queue items, links dropped, blobs deleted, bytes freed."}, []string{"what"})
	m.reg.MustRegister(m.requests, m.bytesIn, m.bytesOut, m.deliveries, m.tokens, m.logins, m.gc,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &storeCollector{store: store, commits: commits})
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request records one HTTP request.
func (m *Metrics) Request(route, method string, status int, in, out int64, d time.Duration) {
	m.requests.WithLabelValues(route, method, statusText(status)).Observe(d.Seconds())
	if in > 0 {
		m.bytesIn.WithLabelValues(route).Add(float64(in))
	}
	if out > 0 {
		m.bytesOut.WithLabelValues(route).Add(float64(out))
	}
}

// Delivery records a webhook delivery attempt.
func (m *Metrics) Delivery(action string, status int, err error) {
	result := "success"
	if err != nil || status < 200 || status >= 300 {
		result = "failure"
	}
	m.deliveries.WithLabelValues(action, result).Inc()
}

// Token records an issued token.
func (m *Metrics) Token(kind string) { m.tokens.WithLabelValues(kind).Inc() }

// GC records one garbage collection pass.
func (m *Metrics) GC(items, links, blobs int, bytes int64) {
	m.gc.WithLabelValues("items").Add(float64(items))
	m.gc.WithLabelValues("links_dropped").Add(float64(links))
	m.gc.WithLabelValues("blobs_deleted").Add(float64(blobs))
	m.gc.WithLabelValues("bytes_freed").Add(float64(bytes))
}

// Login records a login attempt.
func (m *Metrics) Login(method, result string) { m.logins.WithLabelValues(method, result).Inc() }

func statusText(s int) string {
	const digits = "0123456789"
	if s < 100 || s > 999 {
		return "0"
	}
	return string([]byte{digits[s/100], digits[s/10%10], digits[s%10]})
}

// storeCollector reads gauges from the metadata at scrape time.
type storeCollector struct {
	store   meta.View[Store]
	commits CommitStatser
}

var (
	storageDesc = prometheus.NewDesc("acre_registry_storage_bytes", "Bytes a registry holds (each blob once).", []string{"registry"}, nil)
	uploadsDesc = prometheus.NewDesc("acre_uploads_in_progress", "Blob upload sessions started and not yet finished.", nil, nil)
	txDesc      = prometheus.NewDesc("acre_meta_transactions_total", "Metadata write transactions committed (embedded store).", nil, nil)
	commitsDesc = prometheus.NewDesc("acre_meta_commits_total", "Metadata commits made; fewer than transactions when concurrent ones shared a commit (embedded store).", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storageDesc
	ch <- uploadsDesc
	ch <- txDesc
	ch <- commitsDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.commits != nil {
		if txs, commits, ok := c.commits.CommitStats(); ok {
			ch <- prometheus.MustNewConstMetric(txDesc, prometheus.CounterValue, float64(txs))
			ch <- prometheus.MustNewConstMetric(commitsDesc, prometheus.CounterValue, float64(commits))
		}
	}
	q := c.store.Read()
	if n, err := q.CountUploads(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(uploadsDesc, prometheus.GaugeValue, float64(n))
	}
	regs, err := q.ListRegistries(ctx, meta.Page{N: 10000})
	if err != nil {
		return
	}
	for _, r := range regs {
		if used, err := q.StorageUsed(ctx, r.ID); err == nil {
			ch <- prometheus.MustNewConstMetric(storageDesc, prometheus.GaugeValue, float64(used), r.Name)
		}
	}
}
