/** Options of `ng add ngx-oidc-session`; mirrors schema.json. */
export interface NgAddOptions {
  project?: string;
}
