// The script-tag bundle's JSX factory: Preact's createElement, with children as arguments
// (`h('p', null, a, b)`), instead of preact/jsx-runtime's vnode factory and a `children` array.
export { createElement as h, Fragment } from 'preact'
