//! XSUAA's HTML pages: the login form, errors, and "logged out".

pub use common::html::escape;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:28em;margin:4em auto}}\
         label,input{{display:block;margin:.3em 0}}.error{{color:#b00}}</style></head>\
         <body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title)
    )
}

/// The login form; `request_id` points at the pending `/oauth/authorize` request.
pub fn login_form(request_id: &str, client: &str, username: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Log On",
        &format!(
            "<p>to continue to <b>{client}</b> (mock XSUAA)</p>{error}\n\
             <form method=\"post\" action=\"/login.do\">\n\
             <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
             <label for=\"username\">Email or user name</label>\n\
             <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" autofocus>\n\
             <label for=\"password\">Password</label>\n\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\n\
             <input type=\"submit\" value=\"Log On\">\n</form>",
            client = escape(client),
            request_id = escape(request_id),
            username = escape(username),
        ),
    )
}

pub fn error_page(message: &str) -> String {
    page(
        "Error",
        &format!("<p class=\"error\">{}</p>", escape(message)),
    )
}

pub fn logged_out(note: Option<&str>) -> String {
    let note = note
        .map(|n| format!("<p>{}</p>", escape(n)))
        .unwrap_or_default();
    page(
        "Logged out",
        &format!("<p>You have been logged out.</p>{note}"),
    )
}
