//! Naver Cloud Platform API pages (Korean): a method/URI table (`메서드 | URI`), field tables
//! headed `필드 | 타입 | 필수 여부 | 설명` under `요청 경로 파라미터` / `요청 바디` / `응답 바디`
//! (nested fields written `data.keyId`), a curl request example (server URL and headers) and
//! a JSON response example under `응답 예시`.

use super::page::{self, Columns, Page};
use super::ImportError;

const COLUMNS: Columns<'static> = Columns {
    name: "필드",
    ty: "타입",
    required: "필수 여부",
    description: "설명",
    yes: &["Required", "필수"],
    no: &["Optional", "선택"],
};

/// Section headings, each alone on its line.
const REQUEST_PATH: &str = "요청 경로 파라미터";
const REQUEST_BODY: &str = "요청 바디";
const REQUEST_EXAMPLE: &str = "요청 예시";
const RESPONSE_BODY: &str = "응답 바디";
const RESPONSE_EXAMPLE: &str = "응답 예시";
const HEADINGS: &[&str] = &[
    "요청",
    "요청 헤더",
    REQUEST_PATH,
    "요청 쿼리 파라미터",
    REQUEST_BODY,
    REQUEST_EXAMPLE,
    "응답",
    RESPONSE_BODY,
    "응답 상태 코드",
    RESPONSE_EXAMPLE,
];

pub fn parse(text: &str) -> Result<Page, ImportError> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let heading_at = |h: &str| lines.iter().position(|l| l.trim() == h);
    if heading_at("요청").is_none() || heading_at("응답").is_none() {
        return Err(ImportError::at(
            1,
            "not an NCP API page: no '요청' (request) and '응답' (response) sections",
        ));
    }
    // The section a line belongs to: the nearest heading above it.
    let section_of = |idx: usize| -> &str {
        lines[..idx]
            .iter()
            .rev()
            .find(|l| HEADINGS.contains(&l.trim()))
            .map(|l| l.trim())
            .unwrap_or("")
    };
    let mut p = Page::default();
    let first_heading = heading_at("요청").expect("checked above");
    // Lines before the first heading: availability, then what the operation does.
    let intro: Vec<(usize, &str)> = lines[..first_heading]
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i, l.trim()))
        .collect();
    let (_, title) = intro
        .iter()
        .rev()
        .find(|(_, l)| !l.contains("환경에서 이용 가능"))
        .copied()
        .ok_or_else(|| ImportError::at(1, "no description of the operation before '요청'"))?;
    p.title = title.to_string();
    p.description = intro.iter().map(|(_, l)| *l).collect::<Vec<_>>().join(" ");
    // "<API name> API에서 공통으로 사용하는 …" names the API.
    if let Some((i, name)) = lines.iter().enumerate().find_map(|(i, l)| {
        l.split_once(" API에서 공통으로")
            .map(|(n, _)| (i, n.trim().to_string()))
    }) {
        p.api_title = Some((name, i + 1));
    }

    for t in page::tables(&lines) {
        if t.header == ["메서드", "URI"] {
            let (line, cells) = t
                .rows
                .first()
                .ok_or_else(|| ImportError::at(t.line, "method/URI table without a row"))?;
            p.method = Some((cells[0].to_lowercase(), *line));
            p.path = Some((cells[1].clone(), *line));
            continue;
        }
        if !COLUMNS.matches(&t) {
            return Err(ImportError::at(
                t.line,
                format!("unrecognised table header {:?}", t.header),
            ));
        }
        let fields = page::nest_dotted(COLUMNS.fields(&t)?)?;
        match section_of(t.line - 1) {
            REQUEST_PATH => p.path_params = fields,
            REQUEST_BODY => p.body = fields,
            RESPONSE_BODY => p.response = fields,
            other => {
                return Err(ImportError::at(
                    t.line,
                    format!("field table under '{other}', which this importer does not read"),
                ))
            }
        }
    }
    let (method, (path, path_line)) = match (&p.method, &p.path) {
        (Some(m), Some(pa)) => (m.0.clone(), pa.clone()),
        _ => return Err(ImportError::at(1, "no method/URI table ('메서드 | URI')")),
    };

    // curl request example: server URL and headers.
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("curl ") {
            let url = rest
                .split('\'')
                .nth(1)
                .ok_or_else(|| ImportError::at(i + 1, "curl example without a quoted URL"))?;
            if let Some(m) = rest
                .split_whitespace()
                .skip_while(|w| *w != "--request" && *w != "-X")
                .nth(1)
            {
                if !m.eq_ignore_ascii_case(&method) {
                    return Err(ImportError::at(
                        i + 1,
                        format!("the example uses {m}, the URI table {method}"),
                    ));
                }
            }
            p.server = Some((server_of(url, &path, path_line, i + 1)?, i + 1));
        } else if let Some(rest) = t.strip_prefix("--header '") {
            if let Some((name, _)) = rest.split_once(':') {
                p.example_headers.push((name.trim().to_string(), i + 1));
            }
        }
    }
    if let Some(h) = heading_at(RESPONSE_EXAMPLE) {
        let start = (h + 1..lines.len())
            .find(|&k| lines[k].trim_start().starts_with(['{', '[']))
            .ok_or_else(|| ImportError::at(h + 1, "'응답 예시' without a JSON body"))?;
        p.response_example = Some(page::example_at(&lines, start)?.0);
    }
    Ok(p)
}

/// The server part of an example URL whose path ends with the URI template.
fn server_of(
    url: &str,
    template: &str,
    template_line: usize,
    line: usize,
) -> Result<String, ImportError> {
    let re = regex::Regex::new(&format!(
        "^(.*?){}$",
        regex::Regex::new(r"\\\{[^}]*\\\}")
            .expect("regex")
            .replace_all(&regex::escape(template), "[^/]+")
    ))
    .expect("escaped template");
    let url = url.split('?').next().unwrap_or(url);
    re.captures(url).map(|c| c[1].to_string()).ok_or_else(|| {
        ImportError::at(
            line,
            format!(
                "the example URL {url} does not end with the URI {template} (line {template_line})"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_from_the_curl_example() {
        assert_eq!(
            server_of(
                "https://ocapi.ncloud.com/kms/v1/keys/abc",
                "/keys/{keyTag}",
                7,
                19
            )
            .unwrap(),
            "https://ocapi.ncloud.com/kms/v1"
        );
        assert!(server_of("https://h/other/abc", "/keys/{keyTag}", 7, 19).is_err());
    }

    #[test]
    fn foreign_text_is_refused() {
        assert!(parse("# Some other API\nGET /foo\n").is_err());
    }
}
