/** com.microsoft BiasGelu: y = gelu(x + bias), the erf form, dx = dy · (Φ(z) + z·φ(z)) at z = x + bias. */
import { biasedGeluRule } from './biasedGelu.js';

export const biasGeluRule = biasedGeluRule('gelu');
