//! `#[derive(Pytree)]` for cranax: a struct with named or tuple fields becomes a pytree whose
//! children are its fields in declaration order. A field marked `#[pytree(static)]` is not a
//! child: it is cloned into rebuilt values and its value (by `Hash` and `Eq`) is part of the
//! structure, so it keys the jit cache as `cranax::Static` does.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::parse::ParseStream;
use syn::{parse_macro_input, Data, DeriveInput, Fields, Index, Member};

/// Derive `cranax::Pytree` for a struct (the struct must also be `Clone + 'static`).
///
/// ```ignore
/// #[derive(Clone, cranax::Pytree)]
/// struct Layer {
///     w: Array,
///     b: Array,
///     #[pytree(static)]
///     activation: String,
/// }
/// ```
#[proc_macro_derive(Pytree, attributes(pytree))]
pub fn derive_pytree(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Whether a field carries `#[pytree(static)]`.
fn is_static(field: &syn::Field) -> syn::Result<bool> {
    let mut found = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("pytree")) {
        attr.parse_args_with(|input: ParseStream| {
            input.parse::<syn::Token![static]>()?;
            Ok(())
        })
        .map_err(|e| syn::Error::new(e.span(), "expected `#[pytree(static)]`"))?;
        found = true;
    }
    Ok(found)
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            input,
            "#[derive(Pytree)] supports structs only (named, tuple or unit)",
        ));
    };
    let (members, statics, types): (Vec<Member>, Vec<bool>, Vec<&syn::Type>) = {
        let mut m = Vec::new();
        let mut s = Vec::new();
        let mut t = Vec::new();
        for (i, f) in data.fields.iter().enumerate() {
            m.push(match &f.ident {
                Some(id) => Member::Named(id.clone()),
                None => Member::Unnamed(Index::from(i)),
            });
            s.push(is_static(f)?);
            t.push(&f.ty);
        }
        (m, s, t)
    };
    let bounds = types.iter().zip(&statics).map(|(ty, &st)| {
        if st {
            quote!(#ty: ::core::hash::Hash + ::core::cmp::Eq + ::core::clone::Clone
                + ::core::marker::Send + ::core::marker::Sync + 'static)
        } else {
            quote!(#ty: ::cranax::Pytree)
        }
    });
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<Tokens> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    predicates.extend(bounds);
    predicates.push(quote!(Self: ::core::clone::Clone + 'static));

    let flatten = members
        .iter()
        .zip(&statics)
        .filter(|(_, &s)| !s)
        .map(|(m, _)| quote!(::cranax::Pytree::flatten(&self.#m, leaves);));
    let parts: Vec<Tokens> = members
        .iter()
        .zip(&statics)
        .map(|(m, &s)| {
            if s {
                quote!(::core::clone::Clone::clone(&self.#m))
            } else {
                quote!(::cranax::Pytree::unflatten(&self.#m, leaves)?)
            }
        })
        .collect();
    let vars: Vec<_> = (0..members.len())
        .map(|i| format_ident!("__f{}", i))
        .collect();
    let rebuilt = match &data.fields {
        Fields::Named(_) => quote!(#name { #(#members: #vars),* }),
        Fields::Unnamed(_) => quote!(#name ( #(#vars),* )),
        Fields::Unit => quote!(#name),
    };
    let treedef = members.iter().zip(&statics).map(|(m, &s)| {
        let child = if s {
            quote!(::cranax::pytree::static_treedef(&self.#m, out);)
        } else {
            quote!(::cranax::Pytree::treedef(&self.#m, out);)
        };
        quote!(#child out.push(',');)
    });
    let (open, close) = match &data.fields {
        Fields::Unnamed(_) => ("(", ")"),
        _ => ("{", "}"),
    };
    let head = format!("{name}{open}");
    Ok(quote! {
        impl #impl_generics ::cranax::Pytree for #name #ty_generics
        where #(#predicates),*
        {
            fn flatten(&self, leaves: &mut ::std::vec::Vec<::cranax::Array>) {
                #(#flatten)*
            }
            fn unflatten(
                &self,
                leaves: &mut dyn ::core::iter::Iterator<Item = ::cranax::Array>,
            ) -> ::cranax::Result<Self> {
                #(let #vars = #parts;)*
                ::core::result::Result::Ok(#rebuilt)
            }
            fn treedef(&self, out: &mut ::std::string::String) {
                out.push_str(#head);
                #(#treedef)*
                out.push_str(#close);
            }
        }
    })
}
