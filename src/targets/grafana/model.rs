//! A typed subset of Grafana's dashboard JSON (the classic v1 model that file provisioning
//! loads), with builders that lay panels out on the 24-column grid. Panel options are the
//! plugins' own (timeseries, stat, table, logs), with the fields their schemas require.

use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub timezone: &'static str,
    pub editable: bool,
    pub graph_tooltip: u8,
    pub refresh: String,
    pub time: Time,
    pub schema_version: u32,
    pub templating: List,
    pub annotations: List,
    pub links: Vec<Link>,
    pub panels: Vec<Panel>,
}

#[derive(Serialize)]
pub struct Time {
    pub from: String,
    pub to: String,
}

#[derive(Serialize, Default)]
pub struct List {
    pub list: Vec<Value>,
}

/// A dashboard or panel link (Grafana's `DashboardLink`).
#[derive(Serialize, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub title: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub icon: &'static str,
    pub tooltip: String,
    pub url: String,
    pub tags: Vec<String>,
    pub as_dropdown: bool,
    pub target_blank: bool,
    pub include_vars: bool,
    pub keep_time: bool,
}

impl Link {
    /// A link to one dashboard, keeping the time range.
    pub fn to(title: impl Into<String>, url: String) -> Link {
        let title = title.into();
        Link {
            tooltip: format!("Open {title}"),
            title,
            kind: "link",
            icon: "dashboard",
            url,
            tags: Vec::new(),
            as_dropdown: false,
            target_blank: false,
            include_vars: false,
            keep_time: true,
        }
    }

    /// A drop-down of the dashboards with these tags.
    pub fn dashboards(title: impl Into<String>, tags: Vec<String>) -> Link {
        Link {
            title: title.into(),
            kind: "dashboards",
            icon: "external link",
            tooltip: String::new(),
            url: String::new(),
            tags,
            as_dropdown: true,
            target_blank: false,
            include_vars: false,
            keep_time: true,
        }
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    pub datasource: Value,
    pub grid_pos: GridPos,
    pub targets: Vec<Value>,
    pub field_config: Value,
    pub options: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transformations: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

#[derive(Serialize, Clone, Copy)]
pub struct GridPos {
    pub h: u32,
    pub w: u32,
    pub x: u32,
    pub y: u32,
}

/// A query: PromQL for Prometheus, LogQL for Loki. In a table, `legend` is the column title
/// of the query's value.
#[derive(Clone, PartialEq)]
pub struct Query {
    pub expr: String,
    pub legend: String,
}

pub fn q(expr: impl Into<String>, legend: impl Into<String>) -> Query {
    Query { expr: expr.into(), legend: legend.into() }
}

/// What a panel shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Viz {
    TimeSeries,
    Stat,
    /// Instant queries as rows, one value column per query, sorted by the first.
    Table,
    Logs,
}

/// Which datasource a panel queries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Prometheus,
    Loki,
}

/// A panel before layout; two are the same panel when they are equal.
#[derive(Clone, PartialEq)]
pub struct Spec {
    pub viz: Viz,
    pub source: Source,
    pub title: String,
    pub description: String,
    pub unit: &'static str,
    pub queries: Vec<Query>,
    pub links: Vec<Link>,
    /// Value → (text, colour): what a stat shows for a value that stands for a state.
    pub mappings: Vec<(&'static str, &'static str, &'static str)>,
}

pub fn spec(viz: Viz, title: &str, unit: &'static str, description: &str, queries: Vec<Query>) -> Spec {
    let source = if viz == Viz::Logs { Source::Loki } else { Source::Prometheus };
    Spec {
        viz,
        source,
        title: title.into(),
        description: description.into(),
        unit,
        queries,
        links: Vec::new(),
        mappings: Vec::new(),
    }
}

impl Spec {
    /// Show these values as text in these colours.
    pub fn mapped(mut self, mappings: Vec<(&'static str, &'static str, &'static str)>) -> Spec {
        self.mappings = mappings;
        self
    }
}

/// A time series of a LogQL metric query.
pub fn loki_series(title: &str, description: &str, queries: Vec<Query>) -> Spec {
    Spec {
        viz: Viz::TimeSeries,
        source: Source::Loki,
        title: title.into(),
        description: description.into(),
        unit: "short",
        queries,
        links: Vec::new(),
        mappings: Vec::new(),
    }
}

/// The transformations that make a table of instant queries: rows joined on their labels
/// (`merge`), then `Time` hidden and each value column titled by its query's legend.
fn table_transformations(queries: &[Query]) -> Vec<Value> {
    let mut rename = serde_json::Map::new();
    for (n, qq) in queries.iter().enumerate() {
        let column = if queries.len() == 1 { "Value".to_string() } else { format!("Value #{}", ref_id(n)) };
        rename.insert(column, json!(qq.legend));
    }
    let mut out = Vec::new();
    if queries.len() > 1 {
        out.push(json!({ "id": "merge", "options": {} }));
    }
    out.push(json!({ "id": "organize", "options": { "excludeByName": { "Time": true }, "renameByName": rename } }));
    out
}

fn ref_id(n: usize) -> String {
    ((b'A' + n as u8) as char).to_string()
}

/// Lay specs out: stats four to a row, graphs two to a row, logs full width; ids in order.
pub fn layout(specs: Vec<Spec>, prometheus_uid: &str, loki_uid: &str) -> Vec<Panel> {
    let (mut x, mut y, mut row_h) = (0u32, 0u32, 0u32);
    let mut out = Vec::new();
    for (i, s) in specs.into_iter().enumerate() {
        let (w, h) = match s.viz {
            Viz::Stat => (6, 4),
            Viz::TimeSeries => (12, 8),
            Viz::Table => (24, 8),
            Viz::Logs => (24, 10),
        };
        if x + w > 24 {
            x = 0;
            y += row_h;
            row_h = 0;
        }
        let (ds_type, ds_uid) =
            if s.source == Source::Loki { ("loki", loki_uid) } else { ("prometheus", prometheus_uid) };
        let datasource = json!({ "type": ds_type, "uid": ds_uid });
        let targets = s
            .queries
            .iter()
            .enumerate()
            .map(|(n, qq)| {
                let ref_id = ref_id(n);
                if s.source == Source::Loki {
                    json!({ "refId": ref_id, "datasource": datasource, "expr": qq.expr, "legendFormat": qq.legend, "queryType": "range" })
                } else if s.viz == Viz::Table {
                    json!({ "refId": ref_id, "datasource": datasource, "expr": qq.expr, "format": "table", "range": false, "instant": true })
                } else {
                    json!({ "refId": ref_id, "datasource": datasource, "expr": qq.expr, "legendFormat": qq.legend, "range": true, "instant": false })
                }
            })
            .collect();
        let (kind, options, custom) = match s.viz {
            Viz::TimeSeries => (
                "timeseries",
                json!({ "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": [] }, "tooltip": { "mode": "multi", "sort": "desc" } }),
                json!({ "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": false }),
            ),
            Viz::Stat => (
                "stat",
                json!({
                    "graphMode": "area", "colorMode": "value", "justifyMode": "auto", "textMode": "auto",
                    "wideLayout": true, "showPercentChange": false, "percentChangeColorMode": "standard",
                    "orientation": "auto", "reduceOptions": { "calcs": ["lastNotNull"], "values": false, "fields": "" }
                }),
                json!({}),
            ),
            Viz::Table => (
                "table",
                json!({
                    "showHeader": true, "frameIndex": 0, "cellHeight": "sm",
                    "footer": { "show": false, "countRows": false, "reducer": ["sum"] },
                    "sortBy": s.queries.first().map(|qq| json!([{ "displayName": qq.legend, "desc": true }])).unwrap_or(json!([]))
                }),
                json!({ "align": "auto", "inspect": false }),
            ),
            Viz::Logs => (
                "logs",
                json!({ "showTime": true, "wrapLogMessage": true, "sortOrder": "Descending", "enableLogDetails": true, "dedupStrategy": "none", "prettifyLogMessage": false, "showLabels": false, "showCommonLabels": false }),
                json!({}),
            ),
        };
        let mut defaults = json!({ "unit": s.unit, "custom": custom });
        if !s.mappings.is_empty() {
            let options: serde_json::Map<String, Value> = s
                .mappings
                .iter()
                .enumerate()
                .map(|(i, (value, text, color))| {
                    (value.to_string(), json!({ "text": text, "color": color, "index": i }))
                })
                .collect();
            defaults["mappings"] = json!([{ "type": "value", "options": options }]);
        }
        let transformations = if s.viz == Viz::Table { table_transformations(&s.queries) } else { Vec::new() };
        out.push(Panel {
            id: i as u32 + 1,
            kind,
            title: s.title,
            description: s.description,
            datasource,
            grid_pos: GridPos { h, w, x, y },
            targets,
            field_config: json!({ "defaults": defaults, "overrides": [] }),
            options,
            transformations,
            links: s.links,
        });
        x += w;
        row_h = row_h.max(h);
    }
    out
}
