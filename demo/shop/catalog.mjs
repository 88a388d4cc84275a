// What the demo shop sells. Prices live on the server: the browser names
// a product, the backend decides what it costs (and so the revenue the
// dashboard shows).
export const PRODUCTS = {
  espresso: { name: 'Espresso machine', price: 249.0 },
  grinder: { name: 'Burr grinder', price: 89.5 },
  beans: { name: 'Coffee beans, 1 kg', price: 18.9 },
};
